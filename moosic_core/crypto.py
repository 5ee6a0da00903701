"""Encrypting secrets (Spotify tokens, PKCE verifiers) at rest with Fernet.

The key comes from config ``security.token_key`` (env ``MOOSIC_SECURITY_TOKEN_KEY``). Several
comma-separated keys are accepted for rotation (cryptography's ``MultiFernet``): the first
encrypts, any of them decrypts. To rotate: put the new key first (``NEW,OLD``), restart, run
``moosic keys rotate`` (re-encrypts every stored secret with NEW), then drop OLD.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from moosic_core.config import Config
from moosic_core.errors import ConfigError, NotLinked

KEY_HINT = ('generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"')


class TokenCipher:
    """Encrypts and decrypts short secrets; the plaintext never leaves this object's callers."""

    def __init__(self, key: str) -> None:
        keys = [k.strip() for k in key.split(",") if k.strip()]
        if not keys:
            raise ConfigError("Spotify sign-in needs security.token_key "
                              "(MOOSIC_SECURITY_TOKEN_KEY) to encrypt tokens at rest; "
                              f"{KEY_HINT}")
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
        except (ValueError, UnicodeEncodeError):
            raise ConfigError("security.token_key is not a valid Fernet key (32 bytes, urlsafe "
                              f"base64); {KEY_HINT}") from None

    @classmethod
    def from_config(cls, config: Config) -> TokenCipher:
        return cls(config.security.token_key)

    def encrypt(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, blob: bytes) -> str:
        """The secret; a blob from another key means the user must sign in again."""
        try:
            return self._fernet.decrypt(bytes(blob)).decode("utf-8")
        except InvalidToken:
            raise NotLinked("Your Spotify sign-in can no longer be read (the bot's key changed). "
                            "Please use /link spotify again.") from None

    def rotate(self, blob: bytes) -> bytes:
        """The secret re-encrypted with the first key (``MultiFernet.rotate``).

        Raises ``cryptography.fernet.InvalidToken`` when no configured key can read it.
        """
        return self._fernet.rotate(bytes(blob))

    def __repr__(self) -> str:  # never show key material
        return "TokenCipher(***)"
