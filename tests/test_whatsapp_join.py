"""The QR code that joins a phone to Twilio's WhatsApp sandbox, in notebooks and the CLI."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from lab_server.cli import main
from lab_server.whatsapp.join import JoinCodeError, JoinQR, join_qr


def test_the_link_prefills_the_join_message_for_the_sandbox_number():
    qr = join_qr("amber-tiger")
    assert qr.link == "https://wa.me/14155238886?text=join%20amber-tiger"
    assert qr.message == "join amber-tiger"


@pytest.mark.parametrize("typed", ["join amber-tiger", "  JOIN amber-tiger ", "amber-tiger"])
def test_the_code_may_be_pasted_with_or_without_join(typed):
    assert join_qr(typed).code == "amber-tiger"


def test_another_number_can_be_given_with_or_without_its_prefix():
    qr = join_qr("x-y", number="whatsapp:+1 555 123 4567")
    assert qr.link == "https://wa.me/15551234567?text=join%20x-y"


@pytest.mark.parametrize("code", ["", "join", "two words", "tiger!", "a--b", "x" * 65])
def test_codes_that_are_not_twilios_are_refused_in_spanish(code):
    with pytest.raises(JoinCodeError, match="Código de sandbox no válido"):
        JoinQR(code)


def test_numbers_that_are_not_e164_are_refused():
    with pytest.raises(JoinCodeError, match="E.164"):
        join_qr("amber-tiger", number="4155238886")


def test_png_and_svg_are_real_images():
    qr = join_qr("amber-tiger")
    image = Image.open(io.BytesIO(qr.png()))
    assert image.format == "PNG"
    assert image.size[0] == image.size[1] > 100
    svg = ET.fromstring(qr.svg())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "data:image/png;base64," in qr._repr_html_()
    assert qr.link in qr._repr_html_()


def test_save_picks_the_format_by_extension(tmp_path):
    qr = join_qr("amber-tiger")
    assert qr.save(tmp_path / "a.png").read_bytes() == qr.png()
    assert qr.save(tmp_path / "a.svg").read_text(encoding="utf-8") == qr.svg()
    with pytest.raises(JoinCodeError, match=".png o .svg"):
        qr.save(tmp_path / "a.jpg")


def test_cli_writes_the_file_and_prints_the_link(tmp_path, capsys):
    out = tmp_path / "join.png"
    assert main(["whatsapp", "join-qr", "--code", "amber-tiger", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "https://wa.me/14155238886?text=join%20amber-tiger" in printed


def test_cli_draws_the_qr_in_the_terminal(capsys):
    assert main(["whatsapp", "join-qr", "--code", "amber-tiger"]) == 0
    printed = capsys.readouterr().out
    assert "█" in printed or "▀" in printed
    assert "«join amber-tiger»" in printed


def test_cli_explains_a_bad_code(capsys):
    assert main(["whatsapp", "join-qr", "--code", "no válido"]) == 2
    assert "Código de sandbox no válido" in capsys.readouterr().err
