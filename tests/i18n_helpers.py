"""Checks shared by the language tests: no Indonesian left on a page meant to be English."""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

# Common Indonesian words that are not English words too (so "data", "unit", "per", "status"
# are not here). A page in English shows none of them outside the names it was allowed.
_WORDS = """
ada adalah agar akan akun alamat anda apa atau bagaimana baik bahwa banyak baru belum
berhasil berlaku boleh buka bukan cara coba cukup dalam dan dapat datang dengan dari detik
di dikirim diperbaiki ditemukan harap hari harus hanya ini isian itu jam jawaban jika juga
kami kasih kata ke kembali kepada kepuasan keluar kirim kode komentar lagi lain lalu layanan
loket masih masuk masyarakat menit mohon nilai oleh pada penilaian pelayanan pertanyaan
petugas pilih pilihan pindai pukul saat salah sandi satu sebentar sekali sekarang semua
sesudah setelah setiap silakan sudah survei tahun tanpa tanggal telah terima terjadi terlalu
tercatat tidak tunggu untuk waktu wajib yang
bulan dilayani disesuaikan jumlah kecukupan memenuhi menurut minggu mingguan mutu perubahan
rentang ringkasan sampel sebelumnya simpan tampilkan tanggapan terlemah terukur unsur urutan
warga senin selasa rabu kamis jumat sabtu
"""
INDONESIAN_WORDS = frozenset(_WORDS.split())

# Names every page may carry whatever its language: the service's own name, the language
# switch (which names Bahasa Indonesia in Bahasa Indonesia) and the regulation's acronyms.
ALWAYS_ALLOWED = ("Suara Warga", "Bahasa Indonesia", "NIK", "SKM", "IKM")

# Attributes people read or hear (tooltips, screen readers, placeholders, image text).
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt")


class _VisibleText(HTMLParser):
    """The text of a page a person can see or hear: no markup, styles or scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script"):
            self._hidden += 1
        self.parts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    """The page's visible (and read-aloud) text, one space between pieces."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def indonesian_words(text: str, allowed_names: Iterable[str] = ()) -> list[str]:
    """The common Indonesian words in ``text``, once the allowed names are taken out."""
    # Longest first, so that a name containing another is removed whole.
    for name in sorted({*ALWAYS_ALLOWED, *allowed_names}, key=len, reverse=True):
        text = text.replace(name, " ")
    words = re.findall(r"[^\W\d_]+", text.lower())
    return [word for word in words if word in INDONESIAN_WORDS]


def assert_no_indonesian(html: str, allowed_names: Iterable[str] = ()) -> None:
    """Fail, naming the words and their page text, when an English page still shows
    Indonesian outside ``allowed_names`` (places, units, services, officers)."""
    text = visible_text(html)
    found = indonesian_words(text, allowed_names)
    assert not found, f"Indonesian words {sorted(set(found))} on an English page: {text!r}"
