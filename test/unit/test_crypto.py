"""Cluster certificates and secrets (ganeti.crypto)."""

from __future__ import annotations

import os
import re
import ssl
import stat
import subprocess

import pytest

from ganeti import crypto


@pytest.fixture(scope="module")
def pem_pair():
    return crypto.generate_self_signed_cert("cluster.example.com", validity_days=10)


def test_self_signed_cert_properties(pem_pair):
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    key_pem, cert_pem = pem_pair
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    cert = crypto.load_cert(cert_pem)
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=cluster.example.com"
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert 10 <= lifetime.days <= 11


def test_write_cluster_cert_is_usable_by_ssl(tmp_path):
    path = str(tmp_path / "server.pem")
    crypto.write_cluster_cert(path, "cluster.example.com")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o440
    data = open(path, "rb").read()
    assert b"PRIVATE KEY" in data and b"BEGIN CERTIFICATE" in data
    # the one file works as key+cert and as the CA for both TLS sides
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(path)
    server.load_verify_locations(path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(path)


def test_cert_digest_format_matches_openssl(tmp_path, pem_pair):
    path = str(tmp_path / "c.pem")
    with open(path, "wb") as fh:
        fh.write(pem_pair[0] + pem_pair[1])
    digest = crypto.cert_digest(path)
    assert re.fullmatch(r"([0-9A-F]{2}:){19}[0-9A-F]{2}", digest)
    assert crypto.cert_digest(pem_pair[1]) == digest
    assert crypto.cert_digest(pem_pair[1].decode()) == digest
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha1", "-in", path],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().split("=", 1)[1] == digest


def test_reference_digest_format():
    ref = "/work/shared/reference/ganeti-3.0/files/ssconf_master_candidates_certs"
    if not os.path.exists(ref):
        pytest.skip("reference files not available")
    _uuid, digest = open(ref).read().strip().split("=")
    assert len(digest) == len(crypto.format_digest(b"\0" * 20))


def test_load_cert_der_and_der_digest(pem_pair):
    der = crypto.load_cert_der(pem_pair[1])
    assert der[0] == 0x30  # ASN.1 SEQUENCE
    assert crypto.der_digest(der) == crypto.cert_digest(pem_pair[1])
    with pytest.raises(ValueError):
        crypto.load_cert_der(pem_pair[0])


def test_generate_secret():
    a, b = crypto.generate_secret(20), crypto.generate_secret(20)
    assert a != b and a.endswith(b"\n") and len(a) == 41
    int(a, 16)
    with pytest.raises(ValueError):
        crypto.generate_secret(0)
