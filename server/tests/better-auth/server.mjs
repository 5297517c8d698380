// A better-auth server with passkeys (@better-auth/passkey), as an app using
// better-auth runs it: email and password accounts, passkeys added when
// signed in. Started by server/tests/api/better_auth.rs with its database:
//   node server.mjs postgres://…   or   node server.mjs sqlite:/path/to/file.db
// It creates its tables (better-auth's own migrations), listens on a free port
// of 127.0.0.1 and prints `listening on http://localhost:PORT`.
import http from "node:http";
import { betterAuth } from "better-auth";
import { getMigrations } from "better-auth/db/migration";
import { toNodeHandler } from "better-auth/node";
import { passkey } from "@better-auth/passkey";

const url = process.argv[2];
if (!url) {
  console.error("usage: node server.mjs DATABASE_URL");
  process.exit(2);
}

async function database() {
  if (url.startsWith("postgres")) {
    const { default: pg } = await import("pg");
    return new pg.Pool({ connectionString: url });
  }
  const { default: Database } = await import("better-sqlite3");
  return new Database(url.replace(/^sqlite:(\/\/)?/, ""));
}

const server = http.createServer();
await new Promise((listening) => server.listen(0, "127.0.0.1", listening));
const origin = `http://localhost:${server.address().port}`;

const auth = betterAuth({
  baseURL: origin,
  secret: "latchkey-test-fixture-secret-0123456789abcdef",
  database: await database(),
  emailAndPassword: { enabled: true },
  plugins: [passkey({ rpID: "localhost", rpName: "better-auth fixture", origin })],
});
const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

server.on("request", toNodeHandler(auth));
console.log(`listening on ${origin}`);
process.on("SIGTERM", () => server.close(() => process.exit(0)));
