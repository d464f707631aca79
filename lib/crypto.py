"""Certificates and secrets of the cluster (``cryptography``).

The cluster certificate uses an EC P-256 key: TLS handshakes with it are
several times cheaper than with RSA-2048, and every master→node RPC that
opens a connection pays one.
"""

from __future__ import annotations

import datetime
import os

from ganeti.utils import io


def generate_self_signed_cert(common_name: str, validity_days: int = 1825) -> tuple[bytes, bytes]:
    """(key_pem, cert_pem) for a new self-signed certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=validity_days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def write_cluster_cert(path: str, common_name: str = "ganeti.example.com") -> None:
    """Key and certificate in one PEM file, readable by root only."""
    key_pem, cert_pem = generate_self_signed_cert(common_name)
    io.write_file_atomic(path, key_pem + cert_pem, mode=0o400)


def _cert_pem(path_or_pem: str | bytes) -> bytes:
    if isinstance(path_or_pem, bytes):
        return path_or_pem
    with open(path_or_pem, "rb") as fh:
        return fh.read()


def load_cert(path_or_pem: str | bytes):
    from cryptography import x509
    data = _cert_pem(path_or_pem)
    start = data.find(b"-----BEGIN CERTIFICATE-----")
    if start < 0:
        raise ValueError("no certificate found")
    return x509.load_pem_x509_certificate(data[start:])


def load_cert_der(path_or_pem: str | bytes) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return load_cert(path_or_pem).public_bytes(serialization.Encoding.DER)


def cert_digest(path_or_pem: str | bytes) -> str:
    """SHA-1 fingerprint 'AA:BB:...' as ssconf_master_candidates_certs has it."""
    import hashlib
    digest = hashlib.sha1(load_cert_der(path_or_pem)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def generate_secret(nbytes: int = 32) -> bytes:
    return os.urandom(nbytes).hex().encode("ascii") + b"\n"
