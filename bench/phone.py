"""Phone app weight on 3G (issue 10, docs/collect.md): what a volunteer's phone downloads.

First visit: the page, its scripts and styles and the household form (the app signed in,
as a volunteer's phone after enrolment), in a fresh Chromium profile throttled to 3G with
CDP `Network.emulateNetworkConditions` (1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip):
the bytes on the wire (CDP `encodedDataLength`: headers and bodies as sent) and the time
until the home screen offers the form. Repeat visit: the same phone opening the app again
(the service worker answers the app's files; only the page and the API go to the network).
Baseline, in the same run: the same first visit with compression refused
(`Accept-Encoding: identity`), as the app was served before. The service worker's own
precache requests (every file again, for offline use) run in the worker, not the page: they
are printed apart and counted in the total that the quick test holds under 500 kB.
Update: one file of the app changed on the server (the served files are a copy), the bytes
the service worker downloads to install the new version (it revalidates every file with its
ETag; before, it downloaded them all again).
Usage: python -m bench.phone [--quick] [--keep]
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Request, sync_playwright

from bench.common import ROOT, bench_arguments, bench_database, bench_token, uvicorn_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
THREE_G = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1_600_000 / 8,
    "uploadThroughput": 750_000 / 8,
}
FIRST_VISIT_BUDGET = 500_000
# The home screen offers the household form (its own button when several forms are offered).
HOME_READY = "#new-survey, #new-household"
# The phone's sign-in and collector name, as the app keeps them, before it first starts.
SEED = """(() => {
  if (location.pathname.indexOf("/collect") !== 0 || localStorage.getItem("bench.seeded")) return;
  localStorage.setItem("bench.seeded", "yes");
  localStorage.setItem("cdfmap.collect.collector", "bench");
  const open = indexedDB.open("cdfmap-collect");
  open.onupgradeneeded = () => {
    for (const name of ["surveys", "photos", "kv"]) {
      if (!open.result.objectStoreNames.contains(name)) {
        open.result.createObjectStore(name, name === "surveys" ? { keyPath: "id" } : undefined);
      }
    }
  };
  open.onsuccess = () => {
    const tx = open.result.transaction("kv", "readwrite");
    tx.objectStore("kv").put(__SESSION__, "session");
    tx.oncomplete = () => open.result.close();
  };
})();"""


# True once the service worker's cache holds the changed file.
UPDATED = """async () => {
  const response = await caches.match("/static/collect/i18n.js");
  return response ? (await response.text()).includes("bench: an update") : false;
}"""


def visit(
    browser: Browser, base: str, token: str, compressed: bool, changed: Path | None = None
) -> dict[str, Any]:
    """A first and a repeat visit of one fresh phone: bytes, requests and seconds; with
    `changed` (the served i18n.js), the bytes the service worker downloads for an update
    that changes that one file."""
    session = {
        "token": token,
        "user": {"id": 0, "username": "bench", "display_name": "bench", "roles": []},
        "expired": False,
    }
    # Refusing compression for the whole context reaches the service worker's requests too.
    context = browser.new_context(
        viewport={"width": 360, "height": 640},
        base_url=base,
        service_workers="allow",
        extra_http_headers={} if compressed else {"Accept-Encoding": "identity"},
    )
    context.add_init_script(script=SEED.replace("__SESSION__", json.dumps(session)))
    context.set_default_timeout(120_000)  # 3G on a shared, busy machine
    # The seed runs before the app on the first page load only; the page is opened once
    # unthrottled on about:blank so that the CDP session exists before the first request.
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", THREE_G)
    wire: dict[str, float] = {}
    urls: dict[str, str] = {}
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"])
    )
    cdp.on(
        "Network.loadingFinished",
        lambda e: wire.__setitem__(e["requestId"], e["encodedDataLength"]),
    )
    # The service worker's own requests (its precache) are not the page's: counted apart.
    worker: list[int] = []

    def worker_request(request: Request) -> None:
        if request.service_worker is not None:
            sizes = request.sizes()
            worker.append(sizes["responseBodySize"] + sizes["responseHeadersSize"])

    context.on("requestfinished", worker_request)
    try:
        started = time.perf_counter()
        page.goto("/collect")
        page.wait_for_selector(HOME_READY, timeout=120_000)
        first_seconds = time.perf_counter() - started
        page.wait_for_load_state("networkidle")
        page.wait_for_selector("html[data-offline-ready=yes]", timeout=120_000)
        page.wait_for_load_state("networkidle")
        first = dict(wire)
        worker_bytes = sum(worker)
        wire.clear()
        page.reload()
        page.wait_for_selector(HOME_READY, timeout=120_000)
        page.wait_for_load_state("networkidle")
        repeat = dict(wire)
        update_bytes = None
        if changed is not None:
            worker.clear()
            original = changed.read_text(encoding="utf-8")
            try:
                changed.write_text(original + "\n// bench: an update\n", encoding="utf-8")
                page.reload()  # the browser sees the new worker, which installs itself
                deadline = time.monotonic() + 120
                while not page.evaluate(UPDATED):
                    assert time.monotonic() < deadline, "the update did not arrive"
                    page.wait_for_timeout(200)
                page.wait_for_load_state("networkidle")
                update_bytes = sum(worker)
            finally:
                changed.write_text(original, encoding="utf-8")
    finally:
        context.close()
    return {
        "first_bytes": sum(first.values()),
        "first_requests": len(first),
        "first_seconds": first_seconds,
        "worker_bytes": worker_bytes,
        "repeat_bytes": sum(repeat.values()),
        "repeat_requests": len(repeat),
        "update_bytes": update_bytes,
        "largest": sorted(((v, urls.get(k, k)) for k, v in first.items()), reverse=True)[:5],
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; print and return the figures."""
    args = bench_arguments(__doc__, "cdfmap_bench_phone").parse_args(argv)
    static = Path(tempfile.mkdtemp(prefix="bench-phone-")) / "static"
    shutil.copytree(ROOT / "static", static)  # a copy: the update changes one of its files
    os.environ["STATIC_DIR"] = str(static)
    try:
        with bench_database(args.database, 10 if args.quick else 100, keep=args.keep) as url:
            token = bench_token(url, role="volunteer", username="bench-phone")
            with (
                uvicorn_server("app.main:create_app", url) as (base, _pid),
                sync_playwright() as pw,
            ):
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    baseline = visit(browser, base, token, compressed=False)
                    changed = static / "collect" / "i18n.js"
                    ours = visit(browser, base, token, compressed=True, changed=changed)
                finally:
                    browser.close()
    finally:
        shutil.rmtree(static.parent, ignore_errors=True)
    for name, figures in (("baseline (uncompressed)", baseline), ("app", ours)):
        print(
            f"{name}: first visit {figures['first_bytes'] / 1000:,.1f} kB on the wire in "
            f"{figures['first_requests']} requests, {figures['first_seconds']:.2f} s at 3G "
            f"(+ {figures['worker_bytes'] / 1000:,.1f} kB fetched by the service worker for "
            "offline use); "
            f"repeat visit {figures['repeat_bytes'] / 1000:,.1f} kB in "
            f"{figures['repeat_requests']} requests"
        )
    print(
        f"update of one file (i18n.js): {ours['update_bytes'] / 1000:,.1f} kB downloaded by the "
        "service worker"
    )
    print("largest downloads of the first visit (app):")
    for size, where in ours["largest"]:
        print(f"  {size / 1000:,.1f} kB {where.replace(base, '')}")
    byte_ratio = ours["first_bytes"] / baseline["first_bytes"]
    time_ratio = ours["first_seconds"] / baseline["first_seconds"]
    print(
        f"first visit bytes ratio: {byte_ratio:.2f}x baseline "
        f"(budget {FIRST_VISIT_BUDGET / 1000:.0f} kB)"
    )
    print(f"first visit time ratio at 3G: {time_ratio:.2f}x baseline")
    print(f"first visit kB: {ours['first_bytes'] / 1000:.1f}")
    total = ours["first_bytes"] + ours["worker_bytes"]
    print(f"first visit total kB (with the offline precache): {total / 1000:.1f}")
    return {
        "first_bytes": ours["first_bytes"],
        "first_seconds": ours["first_seconds"],
        "repeat_bytes": ours["repeat_bytes"],
        "baseline_first_bytes": baseline["first_bytes"],
        "baseline_first_seconds": baseline["first_seconds"],
    }


if __name__ == "__main__":
    main()
