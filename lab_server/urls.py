"""Is this URL one that a provider on the internet can fetch?

Instagram's containers (Meta downloads `image_url` itself) and TikTok's PULL_FROM_URL take a
URL instead of the file: the provider's servers fetch it, so a URL that works in the
student's browser (localhost, a private address, plain http) fails there, minutes later and
with a vague error. Checking first lets the kit say why before anything is sent.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

#: Suffixes of names that only resolve inside a computer or a home/office network.
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


def private_url_problem(url: str, fetcher: str = "El proveedor") -> str:
    """Why `fetcher` could not download `url` from the internet, in Spanish; "" if it might.

    Only what the URL itself shows is checked (scheme, a local name, a private or loopback
    address); a public name that points nowhere is the provider's to find out.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return "la URL no es válida."
    fix = (
        f" {fetcher} descarga el archivo desde sus servidores: súbelo a un servicio público "
        "(por ejemplo Cloudinary) y usa su URL https."
    )
    if parts.scheme != "https":
        return f"la URL usa «{parts.scheme or 'nada'}», no https." + fix
    if not host:
        return "la URL no tiene servidor." + fix
    if host == "localhost" or host.endswith(LOCAL_SUFFIXES):
        return f"«{host}» es un nombre local de tu red o tu computadora." + fix
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "" if "." in host else f"«{host}» no es un nombre público de internet." + fix
    if not address.is_global:
        return f"{host} es una dirección privada o de tu propia computadora." + fix
    return ""
