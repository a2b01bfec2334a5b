"""A local Web Push service for the notification tests, doing what a browser's push
service and the browser do together: it hands out subscriptions (a P-256 key pair and an
auth secret per subscription, as a browser makes them), checks each push's VAPID token
(RFC 8292: ES256 over the push service's origin, not expired, a contact) as the push
service does, and decrypts the aes128gcm payload (RFC 8291) with the reference library
(`http_ece`) as the browser does. Each push received is written to FOLDER as JSON.

    push_service.py PORT FOLDER

    POST /subscribe             -> {"endpoint", "keys": {"p256dh", "auth"}}
    POST /push/{id}             the push itself: 201, or the status set below
    POST /control/{id}          body {"status": 410} makes later pushes to {id} answer that
    GET  /received              every push received so far (the records written to FOLDER)
"""
import base64, json, os, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

PORT, FOLDER = int(sys.argv[1]), sys.argv[2]
ORIGIN = f"http://127.0.0.1:{PORT}"
subscriptions, statuses, lock, counter = {}, {}, threading.Lock(), [0]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_vapid(header):
    """The reason a VAPID Authorization header is refused, or None."""
    if not header or not header.startswith("vapid "):
        return "no vapid authorization"
    params = dict(p.strip().split("=", 1) for p in header[len("vapid "):].split(","))
    token, key = params.get("t"), params.get("k")
    if not token or not key:
        return "t= and k= are required"
    head, claims, signature = token.split(".")
    if json.loads(unb64(head)).get("alg") != "ES256":
        return "alg is not ES256"
    body = json.loads(unb64(claims))
    if body.get("aud") != ORIGIN:
        return f"aud {body.get('aud')!r} is not {ORIGIN}"
    if not (time.time() < body.get("exp", 0) <= time.time() + 86400):
        return "exp is not within the next 24 hours"
    if not str(body.get("sub", "")).startswith(("mailto:", "https:")):
        return "sub is not a mailto: or https: contact"
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(key))
    raw = unb64(signature)
    if len(raw) != 64:
        return "the signature is not 64 bytes (r||s)"
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "the signature does not verify"
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", kind="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path != "/received":
            return self.answer(404, b"", "text/plain")
        names = sorted(n for n in os.listdir(FOLDER) if n.endswith(".json"))
        records = []
        for name in names:
            with open(os.path.join(FOLDER, name)) as f:
                records.append(json.load(f))
        return self.answer(200, json.dumps(records).encode())

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(length)
        parts = self.path.strip("/").split("/")
        if parts == ["subscribe"]:
            key = ec.generate_private_key(ec.SECP256R1())
            auth = os.urandom(16)
            with lock:
                counter[0] += 1
                sid = f"s{counter[0]}"
                subscriptions[sid] = (key, auth)
            public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
            out = {"endpoint": f"{ORIGIN}/push/{sid}", "keys": {"p256dh": b64(public), "auth": b64(auth)}}
            return self.answer(201, json.dumps(out).encode())
        if len(parts) == 2 and parts[0] == "control":
            statuses[parts[1]] = json.loads(data)["status"]
            return self.answer(204)
        if len(parts) == 2 and parts[0] == "push" and parts[1] in subscriptions:
            sid = parts[1]
            record = {"subscription": sid, "headers": {k.lower(): v for k, v in self.headers.items()}}
            refused = check_vapid(self.headers.get("Authorization"))
            record["vapid_error"] = refused
            if refused:
                self.write(record)
                return self.answer(401, refused.encode(), "text/plain")
            if self.headers.get("Content-Encoding") != "aes128gcm" or "TTL" not in self.headers:
                record["error"] = "Content-Encoding aes128gcm and TTL are required"
                self.write(record)
                return self.answer(400, record["error"].encode(), "text/plain")
            key, auth = subscriptions[sid]
            try:
                plain = http_ece.decrypt(data, private_key=key, auth_secret=auth, version="aes128gcm")
                record["payload"] = json.loads(plain)
            except Exception as error:  # noqa: BLE001 - any failure is the test's finding
                record["error"] = f"cannot decrypt: {error!r}"
                self.write(record)
                return self.answer(400, record["error"].encode(), "text/plain")
            status = statuses.get(sid, 201)
            record["answered"] = status
            self.write(record)
            return self.answer(status, b"", "text/plain")
        if len(parts) == 2 and parts[0] == "push":
            return self.answer(404, b"no such subscription", "text/plain")
        return self.answer(404, b"", "text/plain")

    def write(self, record):
        with lock:
            counter[0] += 1
            name = os.path.join(FOLDER, f"{int(time.time() * 1e6)}-{counter[0]}.json")
        with open(name + ".part", "w") as f:
            json.dump(record, f)
        os.rename(name + ".part", name)


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
