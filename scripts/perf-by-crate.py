#!/usr/bin/env python3
"""Sums a flat `perf report --stdio --no-children --sort symbol -g none` by crate
(or kind of work): where a Latchkey process spends its CPU, in a dozen lines.

    perf report -i perf.data --stdio --no-children --sort symbol -g none | scripts/perf-by-crate.py
"""
import sys,re,collections
groups=collections.Counter()
rules=[('webauthn crypto (p256, bigint)',r'p256|crypto_bigint|primeorder|elliptic_curve|ecdsa|wnaf|crypto_glue|sha2::|ring::'),
('SQLite engine',r'sqlite3|wal[A-Z]|btree|pcache|Vdbe|vdbe'),
('sqlx',r'sqlx'),
('memory (malloc/free/memcpy)',r'malloc|free|memmove|memcpy|memset|realloc|unlink_chunk|_int_|memcmp|alloc::'),
('kernel (syscalls, context switches, network)',r'^\[k\]'),
('tokio runtime',r'tokio|mio|epoll'),
('HTTP (hyper, axum, tower, http)',r'hyper|axum|tower|http::|h2::|httparse|bytes::'),
('JSON (serde_json)',r'serde_json|serde::|base64'),
('tracing',r'tracing'),
('webauthn-rs logic',r'webauthn|base64urlsafedata|cbor|ciborium|serde_cbor'),
('latchkey',r'latchkey|app::'),
('futures/sync',r'futures|flume|parking_lot|pthread|syscall|__lll|futex|event_listener'),
]
total=0
for line in sys.stdin:
    m=re.match(r'\s*([\d.]+)%\s+(\[.\])\s+(.*)',line)
    if not m: continue
    pct=float(m.group(1)); sym=m.group(2)+' '+m.group(3); total+=pct
    for name,pat in rules:
        if re.search(pat,sym if name.startswith('kernel') else m.group(3)) if not name.startswith('kernel') else sym.startswith('[k]'):
            groups[name]+=pct;break
    else: groups['other']+=pct
for k,v in groups.most_common(): print(f"{v:6.1f}%  {k}")
print(f"{total:6.1f}%  total")
