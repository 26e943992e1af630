"""Security headers on every response: what a page may load and run, who may frame it, what
a link tells the next site, and HTTPS only once it is served over HTTPS."""

from __future__ import annotations

from flask import Flask, Response

# Scripts only from files of this site (no inline script, no handler attribute); inline
# styles stay allowed (style attributes and <style> blocks, no script). No page may be
# framed, the kiosk's included (clickjacking a rating or a staff button).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))
HSTS = "max-age=31536000"  # a year; subdomains are the deployment's own business


def security_headers(https: bool) -> dict[str, str]:
    """The headers every response carries; HSTS only when the public address is HTTPS."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers older than CSP 2
        "Referrer-Policy": "same-origin",  # survey tokens in URLs never leave the site
        "X-Content-Type-Options": "nosniff",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers


def init_headers(app: Flask) -> None:
    """Add the security headers to every response (a view's own value of one is kept)."""
    headers = security_headers(app.extensions["suara.settings"].public_base_url
                               .startswith("https://"))

    @app.after_request
    def _secured(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
