"""Certificates and secrets of the cluster (built on ``cryptography``).

The cluster certificate (``server.pem``) is self-signed and serves three
roles at once: noded's server certificate, the client certificate the
master presents, and the only trust anchor of node RPC. Its key is EC
P-256: a TLS handshake signs with it on every new connection, and ECDSA
P-256 signing is roughly an order of magnitude cheaper than RSA-2048
(see ``doc/design/rpc.md``).
"""

from __future__ import annotations

import datetime
import hashlib
import os
from typing import Any

from ganeti.utils import io

_PEM_CERT_BEGIN = b"-----BEGIN CERTIFICATE-----"

# server.pem / rapi.pem: key + certificate, readable by root and the daemons' group
CERT_FILE_MODE = 0o440


def generate_self_signed_cert(common_name: str,
                              validity_days: int = 1825) -> tuple[bytes, bytes]:
    """Return ``(key_pem, cert_pem)`` of a new self-signed certificate.

    The certificate is marked as a CA and usable for both TLS server and
    client authentication, because the cluster certificate is all three.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64] or "ganeti")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # a little slack for nodes whose clocks lag the master's
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=validity_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                              ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def write_cluster_cert(path: str, common_name: str = "ganeti.example.com",
                       validity_days: int = 1825, mode: int = CERT_FILE_MODE) -> None:
    """Write a new key and its certificate into one PEM file (atomically).

    One file holding both is the upstream format of ``server.pem`` and
    ``rapi.pem``, and what both the TLS server and pycurl load.
    """
    key_pem, cert_pem = generate_self_signed_cert(common_name, validity_days)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    io.write_file_atomic(path, key_pem + cert_pem, mode=mode)


def _read_pem(path_or_pem: str | bytes) -> bytes:
    if isinstance(path_or_pem, bytes):
        return path_or_pem
    if path_or_pem.lstrip().startswith("-----BEGIN"):
        return path_or_pem.encode("ascii")
    with open(path_or_pem, "rb") as fh:
        return fh.read()


def load_cert(path_or_pem: str | bytes) -> Any:
    """The first certificate in a PEM file or PEM text (keys are skipped)."""
    from cryptography import x509
    data = _read_pem(path_or_pem)
    start = data.find(_PEM_CERT_BEGIN)
    if start < 0:
        raise ValueError("no certificate found")
    return x509.load_pem_x509_certificate(data[start:])


def load_cert_der(path_or_pem: str | bytes) -> bytes:
    """DER bytes of the certificate: what TLS peers present, for exact pinning."""
    from cryptography.hazmat.primitives import serialization
    return load_cert(path_or_pem).public_bytes(serialization.Encoding.DER)


def spki_sha256(path_or_pem: str | bytes) -> bytes:
    """SHA-256 of the certificate's SubjectPublicKeyInfo (for key pinning)."""
    from cryptography.hazmat.primitives import serialization
    spki = load_cert(path_or_pem).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()


def format_digest(raw: bytes) -> str:
    """``AA:BB:...`` upper-case hex pairs, as Ganeti prints fingerprints."""
    return ":".join("%02X" % b for b in raw)


def cert_digest(path_or_pem: str | bytes) -> str:
    """SHA-1 fingerprint as found in ``ssconf_master_candidates_certs``."""
    return format_digest(hashlib.sha1(load_cert_der(path_or_pem)).digest())


def der_digest(der: bytes) -> str:
    """SHA-1 fingerprint of a DER certificate (e.g. a TLS peer's)."""
    return format_digest(hashlib.sha1(der).digest())


def generate_secret(nbytes: int = 20) -> bytes:
    """A random hex secret plus newline: the content of hmac.key and friends.

    Returned ready to be written as a file, the way upstream stores them.
    """
    if nbytes < 1:
        raise ValueError("secret length must be positive")
    return os.urandom(nbytes).hex().encode("ascii") + b"\n"
