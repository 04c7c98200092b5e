"""The documentation pages offline: vendored CSS/JS instead of CDNs.

Great Expectations' Data Docs load Bootstrap, jQuery, popper, bootstrap-table,
bootstrap-datepicker, Font Awesome and Vega from CDNs (unstyled and without charts when
offline) and an S3-hosted logo with the data context's id in the query string. The same
files, pinned to the versions GX's templates name, are installed from the npm registry
into ``docs_assets/node_modules`` by ``make install``. :func:`localize_site` copies the
ones a site needs into ``<site>/static/vendor/<package>@<version>/`` and points every
``<link href>`` / ``<script src>`` (and the logo) at them by relative path, so the pages
render from disk or from ``docs_server`` (``citylake docs serve``) alike.

It runs right after each Data Docs build (the orchestration hands it to ``quality`` as
``after_docs``: quality never imports serving) and after ``generate_docs`` (dbt's static
page inlines its CSS/JS; with anonymous usage stats off it loads nothing remote, and the
pass confirms it). A CDN URL not in :data:`CDN_ASSETS` (say, a new GX release moved a
version) is an error naming the URL, as is a package missing from ``node_modules``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from citylake.settings import Settings, load_settings

log = logging.getLogger(__name__)

VENDOR = Path("static") / "vendor"
STAMP = ".localized"  # in VENDOR: when the last pass started (later HTML files are rewritten)


class DocsAssetError(RuntimeError):
    """A page needs an asset that is not vendored (unknown URL, or not installed)."""


@dataclass(frozen=True)
class Asset:
    """One vendored file: ``node_modules/<folder>/<path>``, from npm package ``name@version``."""

    folder: str  # under node_modules (an npm alias when two versions of a package are needed)
    name: str
    version: str
    path: str
    extra: tuple[str, ...] = ()  # files/folders the file refers to (package-relative)

    @property
    def dest(self) -> Path:
        return VENDOR / f"{self.name}@{self.version}" / self.path


# node_modules folder -> (npm package, version); docs_assets/package.json pins the same.
# Two bootstrap-table versions: GX loads filter-control's CSS from 1.19.0 (an npm alias).
PACKAGES: dict[str, tuple[str, str]] = {
    "bootstrap": ("bootstrap", "4.3.1"),
    "jquery": ("jquery", "3.7.1"),
    "popper.js": ("popper.js", "1.12.9"),
    "bootstrap-table": ("bootstrap-table", "1.19.1"),
    "bootstrap-table-1.19.0": ("bootstrap-table", "1.19.0"),
    "bootstrap-datepicker": ("bootstrap-datepicker", "1.9.0"),
    "@forevolve/bootstrap-dark": ("@forevolve/bootstrap-dark", "1.1.0"),
    "@fortawesome/fontawesome-free": ("@fortawesome/fontawesome-free", "6.6.0"),
    # ``vega@5`` etc. are unversioned majors on jsDelivr: the newest release of that major.
    "vega": ("vega", "5.33.1"),
    "vega-lite": ("vega-lite", "5.23.0"),
    "vega-embed": ("vega-embed", "6.29.0"),
}
_FILTER = "dist/extensions/filter-control/bootstrap-table-filter-control"
# Every CDN URL in GX 1.24.1's templates (render/view/templates/*.j2) -> (folder, file[, extra]).
# fmt: off
_CDN: dict[str, tuple[str, str] | tuple[str, str, tuple[str, ...]]] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": ("bootstrap", "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": ("bootstrap", "dist/js/bootstrap.min.js"),
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery", "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": ("popper.js", "dist/umd/popper.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": ("bootstrap-table", "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": ("bootstrap-table", "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": ("bootstrap-table", f"{_FILTER}.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": ("bootstrap-table-1.19.0", f"{_FILTER}.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": ("bootstrap-table-1.19.0", f"{_FILTER}.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": ("bootstrap-datepicker", "dist/css/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": ("bootstrap-datepicker", "dist/js/bootstrap-datepicker.min.js"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": ("@forevolve/bootstrap-dark", "dist/css/bootstrap-prefers-dark.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": ("@fortawesome/fontawesome-free", "css/all.min.css", ("webfonts",)),
    "https://cdn.jsdelivr.net/npm/vega@5": ("vega", "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": ("vega-lite", "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": ("vega-embed", "build/vega-embed.min.js"),
}
# fmt: on
CDN_ASSETS: dict[str, Asset] = {
    url: Asset(spec[0], *PACKAGES[spec[0]], *spec[1:]) for url, spec in _CDN.items()
}

# GX's own images: the navbar logo (an S3 URL carrying the data context id, i.e. a beacon)
# and the dark-mode CSS background; GX ships the logo in the site's static/images.
_GX_WEB_ASSETS = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"
_GX_LOGO = re.compile(re.escape(_GX_WEB_ASSETS) + r"(?:logo-long|full_logo_dark)\.png[^\"')\s]*")
LOCAL_LOGO = Path("static") / "images" / "logo-long.png"

_REMOTE = re.compile(r"^(?:https?:)?//", re.IGNORECASE)
_SRI_ATTRS = re.compile(r"""\s+(?:integrity|crossorigin)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?""")
_ASSET_TAGS = {"link": "href", "script": "src", "img": "src"}
# Pages worth parsing: an asset tag with a remote URL, or one into the site's static/.
_CANDIDATE = re.compile(
    r"""<(?:link|script|img)\b[^>]*?\b(?:href|src)\s*=\s*["']?\s*(?:(?:https?:)?//|[^"'>]*static/)""",
    re.I,
)


@dataclass
class LocalizeReport:
    site: Path
    pages_scanned: int = 0
    pages_rewritten: int = 0
    urls_rewritten: int = 0
    files_copied: int = 0
    seconds: float = 0.0
    vendored: set[str] = field(default_factory=set)


class _TagFinder(HTMLParser):
    """Start tags of link/script/img with their exact source span (script bodies are
    raw text to the parser, so markup inside inline JS is never mistaken for a tag)."""

    def __init__(self, local: bool = False) -> None:
        super().__init__(convert_charrefs=False)
        self.local = local  # also tags referring into the site's static/ folder
        self.found: list[tuple[tuple[int, int], str, str, str]] = []  # pos, raw, tag, url

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = _ASSET_TAGS.get(tag)
        if wanted is None:
            return
        url = (dict(attrs).get(wanted) or "").strip()
        if _REMOTE.match(url) or (self.local and "static/" in url and ":" not in url):
            raw = self.get_starttag_text() or ""
            self.found.append((self.getpos(), raw, tag, url))

    handle_startendtag = handle_starttag


def _relative(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def _sri_ok(file: Path, integrity: str) -> bool:
    for token in integrity.split():
        algo, _, digest = token.partition("-")
        if algo in {"sha256", "sha384", "sha512"}:
            got = base64.b64encode(hashlib.new(algo, file.read_bytes()).digest()).decode()
            if got == digest:
                return True
    return False


class _Vendor:
    """Copies vendored files into one site, checking each package's installed version."""

    def __init__(self, site: Path, assets_dir: Path, report: LocalizeReport) -> None:
        self.site, self.assets_dir, self.report = site, assets_dir, report
        self._checked: set[str] = set()

    def _package_dir(self, asset: Asset) -> Path:
        folder = self.assets_dir / asset.folder
        if asset.folder in self._checked:
            return folder
        manifest = folder / "package.json"
        hint = "run `make install` (npm ci in docs_assets/)"
        if not manifest.exists():
            raise DocsAssetError(
                f"{asset.name}@{asset.version} is not installed ({folder} missing): {hint}"
            )
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        if (meta.get("name"), meta.get("version")) != (asset.name, asset.version):
            raise DocsAssetError(
                f"{folder} holds {meta.get('name')}@{meta.get('version')}, the docs need "
                f"{asset.name}@{asset.version}: {hint}"
            )
        self._checked.add(asset.folder)
        return folder

    def _copy(self, source: Path, dest: Path) -> None:
        if not source.exists():
            raise DocsAssetError(f"{source} missing: run `make install` (npm ci in docs_assets/)")
        if source.is_dir():
            for child in sorted(source.rglob("*")):
                if child.is_file():
                    self._copy(child, dest / child.relative_to(source))
            return
        there = dest.stat() if dest.exists() else None
        here = source.stat()
        if there is None or there.st_size != here.st_size or there.st_mtime < here.st_mtime:
            dest.parent.mkdir(parents=True, exist_ok=True)
            staged = dest.with_name(f".{dest.name}.{os.getpid()}.copying")
            shutil.copy2(source, staged)
            os.replace(staged, dest)  # readers never see half a file
            self.report.files_copied += 1

    def file_for(self, asset: Asset) -> Path:
        """The asset's path in the site (copied there, with what it refers to, if needed)."""
        package = self._package_dir(asset)
        base = self.site / VENDOR / f"{asset.name}@{asset.version}"
        self._copy(package / asset.path, base / asset.path)
        for extra in asset.extra:
            self._copy(package / extra, base / extra)
        self.report.vendored.add(f"{asset.name}@{asset.version}")
        return self.site / asset.dest


def _rewrite_tag(raw: str, tag: str, url: str, local: str, vendored: Path | None) -> str:
    integrity = re.search(r"""integrity\s*=\s*["']([^"']+)["']""", raw)
    if integrity and vendored is not None and not _sri_ok(vendored, integrity.group(1)):
        raise DocsAssetError(
            f"{vendored} does not match the integrity hash the page pins for {url}"
        )
    # Same-origin (or file://) now: SRI's CORS mode would block the file:// case, and the
    # npm lockfile's integrity already vouches for the content (checked above when pinned).
    attr = re.compile(rf"""(\b{_ASSET_TAGS[tag]}\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.I)
    return attr.sub(lambda m: f'{m.group(1)}"{local}"', _SRI_ATTRS.sub("", raw), count=1)


def _target(url: str, tag: str, page: Path, site: Path, vendor: _Vendor) -> Path | None:
    """Where an asset tag should point (None: leave it), or DocsAssetError."""
    asset = CDN_ASSETS.get(url)
    if asset is not None:
        return vendor.file_for(asset)
    if tag == "img" and _GX_LOGO.match(url):
        return site / LOCAL_LOGO
    if not _REMOTE.match(url):
        # GX writes static/ paths one level short under suites named with a dot
        # (validations/landing/<source>/...): point them at the site's own static/.
        path = url.split("?")[0].split("#")[0]
        fixed = site / "static" / path.split("static/", 1)[1]
        return fixed if not (page.parent / path).exists() and fixed.is_file() else None
    raise DocsAssetError(
        f"{page} loads {url} from the network, which docs_assets does not vendor: add the "
        "package to docs_assets/package.json and the URL to citylake.serving.docs_site.CDN_ASSETS"
    )


def _localize_page(page: Path, site: Path, vendor: _Vendor, report: LocalizeReport) -> None:
    before = page.stat()
    text = page.read_text(encoding="utf-8")
    pieces, cursor = [], 0
    if _CANDIDATE.search(text):  # the parser only where some asset tag may need it
        finder = _TagFinder(local=True)
        finder.feed(text)
        finder.close()
        line_starts = [0, *(m.end() for m in re.finditer("\n", text))]
        for (line, col), raw, tag, url in finder.found:
            start = line_starts[line - 1] + col
            if text[start : start + len(raw)] != raw:  # pragma: no cover - parser drift
                raise DocsAssetError(f"{page}: could not locate {raw[:80]!r}")
            target = _target(url, tag, page, site, vendor)
            if target is None:
                continue
            vendored = target if url in CDN_ASSETS else None
            local = _relative(target, page)
            pieces += [text[cursor:start], _rewrite_tag(raw, tag, url, local, vendored)]
            cursor = start + len(raw)
            report.urls_rewritten += 1
    new = "".join([*pieces, text[cursor:]])
    # The dark theme's logo is a CSS background in an inline <style>.
    new = _GX_LOGO.sub(lambda _: _relative(site / LOCAL_LOGO, page), new)
    report.pages_scanned += 1
    if new != text:
        staged = page.with_name(f".{page.name}.localizing")
        staged.write_text(new, encoding="utf-8")
        # Keep the page's own mtime: the next pass reads only pages GX wrote since this one.
        os.utime(staged, ns=(before.st_atime_ns, before.st_mtime_ns))
        os.replace(staged, page)
        report.pages_rewritten += 1


def localize_site(
    site: Path,
    *,
    settings: Settings | None = None,
    assets_dir: Path | None = None,
    full: bool = False,
) -> LocalizeReport:
    """Vendor a docs site's CDN assets and point its pages at them; idempotent.

    Only pages written since the last pass are read (GX re-renders just the new results),
    unless ``full``. Raises :class:`DocsAssetError` naming what is missing.
    """
    clock = time.perf_counter()
    started = time.time()
    site = Path(site)
    if site.is_file():  # an index page was passed
        site = site.parent
    report = LocalizeReport(site=site)
    if not site.is_dir():
        return report
    if assets_dir is None:
        assets_dir = (settings or load_settings()).docs_assets_dir
    stamp = site / VENDOR / STAMP
    since = 0.0
    if not full and stamp.exists():
        try:
            since = float(stamp.read_text().strip()) - 2.0  # slack for coarse mtimes
        except ValueError:
            since = 0.0
    vendor = _Vendor(site, assets_dir, report)
    pages = [p for p in site.rglob("*.html") if VENDOR not in p.relative_to(site).parents]
    for page in sorted(pages):
        if page.stat().st_mtime >= since:
            _localize_page(page, site, vendor, report)
    styles = site / "static" / "styles"
    for sheet in sorted(styles.glob("*.css")) if styles.is_dir() else []:
        text = sheet.read_text(encoding="utf-8")
        new = _GX_LOGO.sub(lambda _, s=sheet: _relative(site / LOCAL_LOGO, s), text)
        if new != text:
            sheet.write_text(new, encoding="utf-8")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(f"{started:.3f}\n")
    report.seconds = round(time.perf_counter() - clock, 3)
    log.info(
        "docs offline: %s: %d pages read, %d rewritten (%d URLs), %d files vendored in %.2fs",
        site,
        report.pages_scanned,
        report.pages_rewritten,
        report.urls_rewritten,
        report.files_copied,
        report.seconds,
    )
    return report


def remote_assets(page: Path) -> list[str]:
    """URLs a page still loads from the network by ``<link href>``, ``<script src>``, ``<img src>``."""
    finder = _TagFinder()
    finder.feed(page.read_text(encoding="utf-8"))
    finder.close()
    return [url for *_, url in finder.found]


def localize_all(settings: Settings | None = None, *, full: bool = False) -> list[LocalizeReport]:
    """Both sites (GX Data Docs, dbt docs) as far as they exist: what ``docs serve`` runs first."""
    settings = settings or load_settings()
    return [
        localize_site(index.parent, settings=settings, full=full)
        for index in (settings.quality_docs_index, settings.dbt_docs_index)
        if index.exists()
    ]
