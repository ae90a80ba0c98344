"""The debian-12-python app: json, ssl and sqlite3 in a minimised appliance.

Prints one line that the integration test and `isobuild boot` users can check:
APP-RESULT {"answer": 42, "args": [...], ...} (args: the kernel command line's appArgs)
"""
import hashlib
import json
import sqlite3
import ssl
import sys

con = sqlite3.connect(":memory:")
con.execute("create table t (k text, v integer)")
con.executemany("insert into t values (?, ?)", [("a", 1), ("b", 2), ("c", 39)])
(answer,) = con.execute("select sum(v) from t").fetchone()

tls = ssl.create_default_context()
result = {
    "answer": answer,
    "args": sys.argv[1:],
    "sqlite": sqlite3.sqlite_version,
    "openssl": ssl.OPENSSL_VERSION,
    "tls_minimum": tls.minimum_version.name,
    "sha256": hashlib.sha256(b"isobuild").hexdigest()[:16],
}
print("APP-RESULT " + json.dumps(result, sort_keys=True), flush=True)
