"""A signed C2PA manifest: the file itself says, under a signature, that a model made it.

C2PA (the Coalition for Content Provenance and Authenticity's standard, read by ``c2patool``,
Adobe's Content Credentials and others) embeds a *manifest* in an mp4, PNG or JPEG: here one
``c2pa.created`` action whose ``digitalSourceType`` is ``trainedAlgorithmicMedia`` (IPTC's term
for "made by a trained model"), the tool (fewshot_lib and its version) and the model. The
manifest is signed, and binds a hash of the file's bytes: change one byte and validation fails.

The signature uses the **course key**: an EC P-256 key and a two-certificate chain (a local CA and a
signer) that :func:`course_key` makes on first use in ``$FEWSHOT_HOME/course_key/`` (default
``~/.cache/fewshot_lib/course_key/``). It is *not* a trusted identity: validators report it as
``signingCredential.untrusted``, since nobody vouches for it. It proves only that the file is unchanged
since a fewshot_lib installation signed it. A re-encode, a screenshot or an upload strips the manifest:
the watermark (:mod:`.watermark`) is what survives those. Introduced in notebook 11.
"""
from __future__ import annotations

import datetime
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..atomic import atomic_write

MIME = {".mp4": "video/mp4", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
"""The formats we sign (C2PA defines more; these are the ones the course writes, GIF excepted)."""
SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
KEY_FILES = ("chain.pem", "signer.key")


def key_folder() -> Path:
    """Where the course key lives: ``$FEWSHOT_HOME/course_key``."""
    from ..config import CONFIG

    return CONFIG.home / "course_key"


def _certificate(subject: str, public_key, issuer, issuer_key, ca: bool):
    """An X.509 certificate for ``subject``, valid for ten years, signed by ``issuer_key`` (ECDSA SHA-256)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fewshot_lib course key (not a trusted identity)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer or name).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if ca:                                                 # may sign certificates, nothing else
        usage = dict(digital_signature=False, key_cert_sign=True, crl_sign=True)
    else:                                                  # may sign manifests; C2PA asks for an EKU it lists
        usage = dict(digital_signature=True, key_cert_sign=False, crl_sign=False)
        builder = (builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                  critical=False))
    builder = builder.add_extension(x509.KeyUsage(content_commitment=False, key_encipherment=False,
                                                  data_encipherment=False, key_agreement=False, encipher_only=False,
                                                  decipher_only=False, **usage), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


def course_key(folder: str | Path | None = None) -> tuple[bytes, bytes]:
    """The course key as (certificate chain PEM, private key PEM), made on first use in ``folder``."""
    folder = Path(folder) if folder is not None else key_folder()
    chain_file, key_file = (folder / name for name in KEY_FILES)
    if not (chain_file.exists() and key_file.exists()):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        ca_key, signer_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca = _certificate("fewshot_lib course CA", ca_key.public_key(), None, ca_key, ca=True)
        signer = _certificate("fewshot_lib course signer", signer_key.public_key(), ca.subject, ca_key, ca=False)
        pem = serialization.Encoding.PEM
        with atomic_write(key_file) as f:
            f.write(signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        os.chmod(key_file, 0o600)                          # a private key: readable by its owner only
        with atomic_write(chain_file) as f:                # the chain last: its presence means "complete"
            f.write(signer.public_bytes(pem) + ca.public_bytes(pem))
    return chain_file.read_bytes(), key_file.read_bytes()


def manifest_definition(title: str, model: str | None) -> dict:
    """The manifest we sign: one ``c2pa.created`` action, made by a trained model (fewshot_lib, ``model``)."""
    action = {"action": "c2pa.created", "digitalSourceType": SOURCE_TYPE,
              "softwareAgent": {"name": "fewshot_lib", "version": __version__}}
    if model:
        action["parameters"] = {"model": model}
    return {"claim_generator_info": [{"name": "fewshot_lib", "version": __version__}], "title": title,
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}]}


def sign_bytes(data: bytes, suffix: str, model: str | None = None, title: str = "",
               key: str | Path | None = None) -> bytes:
    """``data`` (an mp4, PNG or JPEG file's bytes; ``suffix`` says which) with a signed manifest embedded."""
    import c2pa

    chain, private_key = course_key(key)
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private_key, None))
    context = c2pa.Context(c2pa.Settings.from_dict({"builder": {"thumbnail": {"enabled": False}}}))
    signed = io.BytesIO()
    with c2pa.Builder(json.dumps(manifest_definition(title, model)), context) as builder:
        builder.sign(signer, MIME[suffix.lower()], io.BytesIO(data), signed)
    return signed.getvalue()


def sign(path: str | Path, model: str | None = None, title: str | None = None, key: str | Path | None = None) -> Path:
    """Embed a signed manifest in the mp4, PNG or JPEG at ``path`` (replaced atomically); returns ``path``."""
    path = Path(path)
    signed = sign_bytes(path.read_bytes(), path.suffix, model, title or path.name, key)
    with atomic_write(path) as f:
        f.write(signed)
    return path


@dataclass(frozen=True)
class ManifestStatus:
    """``state``: "valid" (unchanged since signed; the signer is not vouched for), "tampered" (present, fails
    validation) or "absent"; ``detail``: the validator's codes, or what the manifest says."""
    state: str
    detail: str = ""


def read_manifest(path: str | Path) -> ManifestStatus:
    """Validate the C2PA manifest of the file at ``path``, if it has one."""
    import c2pa

    path = Path(path)
    if path.suffix.lower() not in MIME:
        return ManifestStatus("absent", f"{path.suffix} files carry no C2PA manifest here")
    try:
        with open(path, "rb") as f, c2pa.Reader(MIME[path.suffix.lower()], f) as reader:
            report = json.loads(reader.json())
    except c2pa.C2paError as error:
        if "ManifestNotFound" in type(error).__name__ or "no JUMBF" in str(error):
            return ManifestStatus("absent")
        return ManifestStatus("tampered", f"unreadable: {error}")        # a manifest whose file no longer parses
    codes = [status["code"] for status in report.get("validation_status", [])]
    failures = [code for code in codes if code != "signingCredential.untrusted"]
    if report.get("validation_state") == "Invalid" or failures:
        return ManifestStatus("tampered", ", ".join(failures or codes))
    active = report["manifests"][report["active_manifest"]]
    actions = [a for assertion in active.get("assertions", []) if assertion["label"].startswith("c2pa.actions")
               for a in assertion["data"].get("actions", [])]
    made = next((a for a in actions if a.get("digitalSourceType") == SOURCE_TYPE), None)
    what = f"{SOURCE_TYPE.rsplit('/', 1)[1]} by {made['softwareAgent']['name']}" if made else "no AI-generation claim"
    return ManifestStatus("valid", f"{what}, signed by the course key (untrusted)")
