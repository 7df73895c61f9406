"""A tiny Cloudinary Upload API for tests, reached with CLOUDINARY_URL's `upload_prefix`.

Contract from https://cloudinary.com/documentation/image_upload_api_reference#upload:
POST {upload_prefix}/v1_1/{cloud_name}/image/upload with form fields `file` (here a data
URI), `api_key`, `timestamp`, `signature` (SHA-1 of the sorted parameters + API secret)
and options such as `folder`; the answer is JSON with `public_id`, `secure_url`, `format`,
`bytes`. Errors: 401 `{"error": {"message": ...}}`.
"""

from __future__ import annotations

import base64
import hashlib

from flask import Flask, jsonify, request

from lab_server.serving import ServerThread


class FakeCloudinary:
    def __init__(self, api_key: str = "123456", api_secret: str = "s3cr3t") -> None:
        self.api_key, self.api_secret = api_key, api_secret
        self.uploads: list[dict] = []
        app = Flask("fake_cloudinary")
        app.add_url_rule("/v1_1/<cloud>/image/upload", view_func=self.upload, methods=["POST"])
        self.server = ServerThread(app, "127.0.0.1", 0)

    def url(self, cloud: str = "demo") -> str:
        return (
            f"cloudinary://{self.api_key}:{self.api_secret}@{cloud}?upload_prefix={self.server.url}"
        )

    def upload(self, cloud: str):
        form = request.form.to_dict()
        signed = sorted(
            (k, v) for k, v in form.items() if k not in ("file", "api_key", "signature") and v
        )
        expected = hashlib.sha1(
            ("&".join(f"{k}={v}" for k, v in signed) + self.api_secret).encode()
        ).hexdigest()
        if form.get("api_key") != self.api_key or form.get("signature") != expected:
            return jsonify(error={"message": "Invalid Signature"}), 401
        data = base64.b64decode(form["file"].split(",", 1)[1])
        self.uploads.append({"cloud": cloud, "form": form, "data": data})
        public_id = f"{form.get('folder', '')}/img{len(self.uploads)}".lstrip("/")
        return jsonify(
            public_id=public_id,
            format="png",
            bytes=len(data),
            secure_url=f"https://res.cloudinary.com/{cloud}/image/upload/{public_id}.png",
        )

    def stop(self) -> None:
        self.server.stop()
