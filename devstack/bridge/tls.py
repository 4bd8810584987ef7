"""Certificates for a simulated Hue bridge, minted per run (dev-only: `cryptography` is a dev dependency).

A per-run test root stands in for Signify's `root-bridge` (whose private key nobody has): it signs a
leaf shaped like a real bridge's (`C=NL, O=Philips Hue, CN=<bridge id>`, no subjectAltName), directly
like a square gen-2 bridge, or through an intermediate that the server sends like a Bridge Pro. The
client trusts the test root the way a user would add a CA: through HUE_CA_BUNDLE (`TestPKI.root_pem`).

Bad variants for tests: a leaf for another bridge id, a CN that is not a bridge id, a leaf from a
foreign CA, an expired leaf, a self-signed leaf, and a certificate that names the IP in subjectAltName only.

    pki = TestPKI("001788fffe6a2b3c")
    pki.write_root(folder / "root.pem")                 # -> HUE_CA_BUNDLE
    cert, key = pki.credentials("gen2").write(folder)   # -> a TLS server's cert chain and key
    context = pki.credentials("pro").server_context()   # or an ssl.SSLContext for a server directly
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Every kind of server certificate TestPKI.credentials() can mint.
GOOD_VARIANTS = ("gen2", "pro")
BAD_VARIANTS = ("wrong-id", "not-a-bridge-id", "foreign-ca", "expired", "self-signed", "san-only-ip")
OTHER_BRIDGE_ID = "001788fffe000bad"
NOT_A_BRIDGE_ID = "hue-bridge.lan"

_DAY = datetime.timedelta(days=1)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def hue_name(common_name: str | None, organization: str = "Philips Hue") -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
    ]
    if common_name is not None:
        attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey = field(repr=False)

    @property
    def cert_pem(self) -> bytes:
        return _pem(self.certificate)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def fingerprint(self) -> str:
        """SHA-256 of the DER, upper-case hex with colons, as `openssl x509 -fingerprint -sha256` shows it."""
        return self.certificate.fingerprint(hashes.SHA256()).hex(":").upper()


class CertificateAuthority:
    """A CA that can issue leaves and intermediates (the test root, an intermediate, or a foreign CA)."""

    def __init__(self, issued: Issued, chain: tuple[x509.Certificate, ...] = ()) -> None:
        self.issued = issued
        self.chain = chain
        """Intermediates between this CA and its root (this CA first when it is itself one), for servers."""

    @classmethod
    def root(cls, common_name: str = "root-bridge", organization: str = "Philips Hue") -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        name = hue_name(common_name, organization)
        certificate = (
            _base(name, name, key, _now() - _DAY, _now() + 3650 * _DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(Issued(certificate, key))

    @property
    def pem(self) -> bytes:
        return self.issued.cert_pem

    def intermediate(self, common_name: str = "Hue Bridge CA (test)") -> CertificateAuthority:
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            _base(
                hue_name(common_name, "Signify Hue"),
                self.issued.certificate.subject,
                key,
                _now() - _DAY,
                _now() + 3650 * _DAY,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_key_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(self._authority_key_id(), critical=False)
            .sign(self.issued.key, hashes.SHA256())
        )
        return CertificateAuthority(Issued(certificate, key), (certificate, *self.chain))

    def leaf(
        self,
        common_name: str | None,
        *,
        san_ips: tuple[str, ...] = (),
        not_before: datetime.datetime | None = None,
        not_after: datetime.datetime | None = None,
    ) -> Issued:
        """A server certificate; a bridge's has CN = bridge id and no subjectAltName (san_ips empty)."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            _base(
                hue_name(common_name),
                self.issued.certificate.subject,
                key,
                not_before or _now() - _DAY,
                not_after or _now() + 365 * _DAY,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(self._authority_key_id(), critical=False)
        )
        if san_ips:
            names = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in san_ips]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Issued(builder.sign(self.issued.key, hashes.SHA256()), key)

    def _authority_key_id(self) -> x509.AuthorityKeyIdentifier:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issued.key.public_key())


def self_signed_leaf(common_name: str) -> Issued:
    """What older bridge firmware serves: a leaf for the bridge id, issued by itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = hue_name(common_name)
    certificate = (
        _base(name, name, key, _now() - _DAY, _now() + 365 * _DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def _base(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class ServerCredentials:
    """What a TLS server presents: its leaf plus the intermediates it sends, and the leaf's key."""

    leaf: Issued
    intermediates: tuple[x509.Certificate, ...] = ()

    @property
    def chain_pem(self) -> bytes:
        return self.leaf.cert_pem + b"".join(_pem(c) for c in self.intermediates)

    def write(self, folder: Path, stem: str = "bridge") -> tuple[Path, Path]:
        """Write `<stem>.pem` (leaf then intermediates) and `<stem>.key` (mode 600); return both paths."""
        folder.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
        cert_path.write_bytes(self.chain_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.leaf.key_pem)
        return cert_path, key_path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as folder:
            context.load_cert_chain(*self.write(Path(folder)))
        return context


class TestPKI:
    """The certificates of one test run for a simulated bridge with id `bridge_id`."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, bridge_id: str) -> None:
        self.bridge_id = bridge_id
        self.root = CertificateAuthority.root("root-bridge")  # stands in for Signify's root-bridge
        self.foreign = CertificateAuthority.root("root-bridge", organization="Not Signify")
        self._credentials: dict[str, ServerCredentials] = {}

    @property
    def root_pem(self) -> bytes:
        """What a test puts into HUE_CA_BUNDLE, as a user would for their own CA."""
        return self.root.pem

    def write_root(self, path: Path) -> Path:
        path.write_bytes(self.root_pem)
        return path

    def credentials(self, variant: str) -> ServerCredentials:
        """Server credentials of one variant (GOOD_VARIANTS or BAD_VARIANTS), minted once per TestPKI."""
        if variant not in self._credentials:
            self._credentials[variant] = self._mint(variant)
        return self._credentials[variant]

    def _mint(self, variant: str) -> ServerCredentials:
        if variant == "gen2":
            return ServerCredentials(self.root.leaf(self.bridge_id))
        if variant == "pro":
            intermediate = self.root.intermediate()
            return ServerCredentials(intermediate.leaf(self.bridge_id), intermediate.chain)
        if variant == "wrong-id":
            return ServerCredentials(self.root.leaf(OTHER_BRIDGE_ID))
        if variant == "not-a-bridge-id":
            return ServerCredentials(self.root.leaf(NOT_A_BRIDGE_ID))
        if variant == "foreign-ca":
            return ServerCredentials(self.foreign.leaf(self.bridge_id))
        if variant == "expired":
            ended = _now() - 2 * _DAY
            return ServerCredentials(self.root.leaf(self.bridge_id, not_before=ended - 30 * _DAY, not_after=ended))
        if variant == "self-signed":
            return ServerCredentials(self_signed_leaf(self.bridge_id))
        if variant == "san-only-ip":
            return ServerCredentials(self.root.leaf(None, san_ips=("127.0.0.1",)))
        raise ValueError(f"unknown certificate variant {variant!r}; one of {GOOD_VARIANTS + BAD_VARIANTS}")
