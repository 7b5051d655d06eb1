#!/usr/bin/env python3
"""seed_corpora.py: create the seed corpora of every fuzz target, OUT/<module>/<file>_corpus/, from
the upstream vectors in ../shared/vectors/ and our own fixtures in tests/data/ and examples/. Seeds
are copied or mechanically derived (a bundle's DSSE envelope, its decoded payload, its certificates
as DER); a few hand-written edge cases are listed below. It only writes files named seed-*.

The seeds are made at build/test time into the build tree and never committed: shared/ is read in
place, never copied into the project (shared/README.md). What is committed under
tests/<module>/<file>_corpus/ is only our own regression inputs (crash reproducers); the replay
CTests and scripts/fuzz_smoke.sh use both.

Usage: tests/fuzz/seed_corpora.py --out BUILD/fuzz-seeds [--shared ../shared]
"""
import argparse
import base64
import hashlib
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


OUT = TESTS


def write(target, name, data):
    """Write one seed into the corpus of `target` ("crypto/bundle"); dedupe by content."""
    d = OUT / (target + "_corpus")
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    safe = "".join(c if c.isalnum() or c in "-._" else "-" for c in name)
    (d / ("seed-" + safe)).write_bytes(data)


def clear(target):
    d = OUT / (target + "_corpus")
    if d.is_dir():
        for p in d.iterdir():
            if p.name.startswith("seed-"):
                p.unlink()


def der_to_pem(der, label):
    b = base64.b64encode(der).decode()
    lines = [b[i:i + 64] for i in range(0, len(b), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared"))
    ap.add_argument("--out", required=True, help="where the <module>/<file>_corpus/ seed directories go")
    args = ap.parse_args()
    global OUT
    OUT = pathlib.Path(args.out)
    vec = pathlib.Path(args.shared) / "vectors"
    conf = vec / "sigstore-conformance"
    ms = vec / "model_signing"
    for t in ["crypto/bundle", "crypto/bundle_verify", "crypto/trusted_root", "crypto/dsse", "crypto/statement",
              "crypto/model_signature", "crypto/keys", "crypto/x509", "crypto/model_walk", "policy/document",
              "policy/dataset_catalog", "admission/review_codec", "admission/workload", "kube/http"]:
        clear(t)

    # --- kube: whole responses as captured (head + raw chunked body, or head + body) -----------------
    kube = vec / "kube-api"
    for h in sorted(kube.glob("*.headers.txt")):
        stem = h.name[: -len(".headers.txt")]
        head = h.read_bytes()
        if not head.startswith(b"HTTP/1."):
            continue
        raw, js = kube / (stem + ".chunked-raw.txt"), kube / (stem + ".json")
        if raw.is_file():
            write("kube/http", stem, head + raw.read_bytes()[:60000])
        elif js.is_file() and b"Content-Length" in head:
            write("kube/http", stem, head + js.read_bytes())
    write("kube/http", "timed-raw", (kube / "watch-pvcs-timed.http-response.raw").read_bytes())

    # --- bundles: every conformance case, every upstream model.sig, the OMS test vectors --------------
    bundles = []  # (name, bytes)
    for case in sorted((conf / "cases").iterdir()):
        b = case / "bundle.sigstore.json"
        if b.is_file():
            bundles.append(("conf-" + case.name + ".json", b.read_bytes()))
    for sig in sorted((ms / "scripts" / "tests").glob("*/model.sig")):
        bundles.append(("ms-" + sig.parent.name + ".sig.json", sig.read_bytes()))
    for b in sorted((ms / "oms_spec" / "test-vectors").rglob("*.bundle.json")):
        bundles.append(("oms-" + b.parent.name + "-" + b.name, b.read_bytes()))
    for name, data in bundles:
        write("crypto/bundle", name, data)
        if name.startswith("conf-") or name.startswith("ms-v1.1.0-sigstore"):
            write("crypto/bundle_verify", name, data)

    # --- what is inside bundles: envelopes, payloads, certificates, keys ----------------------------
    certs, payloads = {}, {}
    for name, data in bundles:
        try:
            j = json.loads(data)
        except ValueError:
            continue
        if not isinstance(j, dict):
            continue
        env = j.get("dsseEnvelope")
        if isinstance(env, dict):
            write("crypto/dsse", name, json.dumps(env, indent=2))
            try:
                payload = base64.b64decode(env.get("payload", ""))
                payloads[hashlib.sha256(payload).hexdigest()] = (name, payload)
            except ValueError:
                pass
        vm = j.get("verificationMaterial") or {}
        chain = (vm.get("x509CertificateChain") or {}).get("certificates") or []
        single = vm.get("certificate")
        for c in ([single] if single else []) + chain:
            try:
                der = base64.b64decode(c["rawBytes"])
                certs[hashlib.sha256(der).hexdigest()] = (name, der)
            except (KeyError, ValueError, TypeError):
                pass
    for name, payload in sorted(payloads.values()):
        write("crypto/statement", name.replace(".json", "") + ".payload.json", payload)
        write("crypto/model_signature", name.replace(".json", "") + ".payload.json", payload)
    for p in sorted((ms / "tests" / "_signing" / "testdata" / "signing" / "TestPayload").iterdir()):
        write("crypto/model_signature", "ms-payload-" + p.name + ".json", p.read_bytes())
    for i, (name, der) in enumerate(sorted(certs.values())):
        if i < 16:
            write("crypto/x509", name.replace(".json", "") + "-%d.der" % i, der)
            if i < 4:
                write("crypto/x509", name.replace(".json", "") + "-%d.pem" % i, der_to_pem(der, "CERTIFICATE"))

    # --- trusted roots (distinct ones), and the keys and CA certificates inside them ------------------
    roots = {}
    for p in [conf / "trusted_root_public_good.json", conf / "trusted_root_staging.json",
              ms / "trust_roots" / "sigstore-production-trusted_root.json",
              ms / "trust_roots" / "sigstore-staging-trusted_root.json",
              ROOT / "crypto" / "data" / "trusted_root_public_good.json"] + sorted((conf / "cases").glob("*/trusted_root.json")):
        if p.is_file():
            data = p.read_bytes()
            label = p.parent.name if p.name == "trusted_root.json" else p.stem
            roots.setdefault(hashlib.sha256(data).hexdigest(), (label, data))
    keys = {}
    for label, data in sorted(roots.values()):
        write("crypto/trusted_root", label + ".json", data)
        j = json.loads(data)
        for kind in ("tlogs", "ctlogs"):
            for log in j.get(kind, []):
                raw = (log.get("publicKey") or {}).get("rawBytes")
                if raw:
                    der = base64.b64decode(raw)
                    keys.setdefault(hashlib.sha256(der).hexdigest(),
                                    ((log.get("publicKey") or {}).get("keyDetails", "key"), der))
        for kind in ("certificateAuthorities", "timestampAuthorities"):
            for ca in j.get(kind, []):
                for c in (ca.get("certChain") or {}).get("certificates", []):
                    der = base64.b64decode(c["rawBytes"])
                    certs.setdefault(hashlib.sha256(der).hexdigest(), (kind, der))
    for i, (details, der) in enumerate(sorted(keys.values())):
        write("crypto/keys", "%s-%d.der" % (details, i), der)
        if not details.startswith("PKCS1"):
            write("crypto/keys", "%s-%d.pem" % (details, i), der_to_pem(der, "PUBLIC KEY"))
    for p in sorted(conf.glob("cases/*/key.pub")) + sorted((ms / "scripts" / "tests" / "keys").rglob("*pub*.pem")):
        write("crypto/keys", p.parent.name + "-" + p.name, p.read_bytes())
    for p in sorted((ms / "scripts" / "tests" / "keys").rglob("*cert*.pem")):
        write("crypto/x509", "ms-" + p.name, p.read_bytes())
    ca_pems = [der_to_pem(der, "CERTIFICATE") for _, der in sorted(certs.values())]
    write("crypto/x509", "chain-of-3.pem", "".join(ca_pems[:3]))
    # An Ed25519 and an RSA key from the openssl CLI (public halves only).
    for alg, opts in (("ed25519", ["-algorithm", "ED25519"]), ("rsa2048", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])):
        priv = subprocess.run(["openssl", "genpkey"] + opts, check=True, capture_output=True).stdout
        pub = subprocess.run(["openssl", "pkey", "-pubout"], input=priv, check=True, capture_output=True).stdout
        write("crypto/keys", "openssl-" + alg + ".pem", pub)
        der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                             capture_output=True).stdout
        write("crypto/keys", "openssl-" + alg + ".der", der)
        if alg.startswith("rsa"):
            pkcs1 = subprocess.run(["openssl", "rsa", "-pubin", "-RSAPublicKey_out", "-outform", "DER"], input=pub,
                                   check=True, capture_output=True).stdout
            write("crypto/keys", "openssl-" + alg + ".pkcs1.der", pkcs1)

    # --- paths: resource names from the payloads, and the edge cases of the path rules -------------
    names = set()
    for _, payload in payloads.values():
        try:
            for r in json.loads(payload).get("predicate", {}).get("resources", []):
                names.add(r.get("name", ""))
        except (ValueError, AttributeError):
            pass
    for n in sorted(names)[:12]:
        write("crypto/model_walk", "resource-" + n, n)
    for i, n in enumerate(["model.safetensors", "d0/d1/f0", ".", "..", "../escape", "/abs/path", "a//b", "a/./b",
                           "a/b/", "back\\slash", "ctl\x01name", "nul\x00byte", b"\xff\xfe", b"\xc0\xaf", "caf\u00e9/\u6a21\u578b.bin",
                           "\u0085next-line", "quote\"name", "x" * 300, "a/" * 40 + "b", ".git/config",
                           "model-00001-of-00004.safetensors:0:1000000000", "C:\\weights", "\ufeffbom"]):
        write("crypto/model_walk", "edge-%02d" % i, n.encode() if isinstance(n, str) else n)

    # --- policies and catalogs: our fixtures and the examples ------------------------------------
    for p in sorted((TESTS / "data" / "policy").glob("*/*.yaml")):
        if p.name == "expect.yaml":
            continue
        target = "policy/dataset_catalog" if p.name in ("catalog.yaml", "datasets.yaml") else "policy/document"
        write(target, p.parent.name + "-" + p.name, p.read_bytes())
    for p in sorted((ROOT / "examples" / "policies").glob("*.yaml")):
        write("policy/document", "example-" + p.name, p.read_bytes())
    write("policy/dataset_catalog", "example-datasets.yaml", (ROOT / "examples" / "datasets.yaml").read_bytes())

    # --- admission: the recorded AdmissionReviews, and bare objects for workload ------------------
    kinds = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob"]
    for p in sorted((vec / "admission").glob("*.json")):
        data = p.read_bytes()
        write("admission/review_codec", p.name, data)
        write("admission/workload", p.name, data)
        j = json.loads(data)
        obj = (j.get("request") or {}).get("object")
        kind = ((j.get("request") or {}).get("kind") or {}).get("kind")
        if isinstance(obj, dict) and kind in kinds and "create" in p.name and not p.name.startswith("pod-create-llm-server-"):
            write("admission/workload", "bare-" + p.name, bytes([kinds.index(kind)]) + json.dumps(obj).encode())
    write("admission/review_codec", "not-json", "{\"apiVersion\": ")
    write("admission/review_codec", "v1beta1.json",
          json.dumps({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "x"}}))
    write("admission/review_codec", "deep.json", "[" * 80 + "]" * 80)
    return 0


if __name__ == "__main__":
    sys.exit(main())
