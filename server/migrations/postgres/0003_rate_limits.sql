-- Shared rate limits (`--rate-limit-shared`): hits per key per one-second window,
-- counted in the database so that every instance sees the same budget.
CREATE TABLE rate_limits (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL, -- Unix seconds
    hits         BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
