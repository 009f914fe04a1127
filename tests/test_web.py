"""The workbench's server side, through Starlette's test client: safety, uploads, the catalogue,
the queue, and that a web run is the command line's run.

The browser tests are in test_web_browser.py.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from allocator.cli import main
from allocator.core.i18n import _, set_language, speaking
from allocator.outputs.ledger import list_runs
from allocator.web.app import Config, create_app
from allocator.web.jobs import Job, JobQueue
from allocator.web.security import CSRF_FIELD
from allocator.web.words import word

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
SAMPLE = ROOT / "scenarios" / "data" / "liuzhou-sample.csv"
SCENARIO_2026 = ROOT / "scenarios" / "liuzhou-2026-q1.yaml"
TEMPLATES = ROOT / "src" / "allocator" / "web" / "templates"
LOCAL = "http://127.0.0.1"


def make_client(tmp_path: Path, **options: object) -> TestClient:
    config = Config(
        workspace=tmp_path / "ws",
        models=MODELS,
        ledger=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        **options,  # type: ignore[arg-type]
    )
    return TestClient(create_app(config), base_url=LOCAL, follow_redirects=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(tmp_path) as c:
        yield c


def csrf_of(client: TestClient, path: str = "/new") -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = re.search(rf'name="{CSRF_FIELD}" value="([0-9a-f]+)"', page.text)
    assert found, "the page has no CSRF field"
    return found.group(1)


def wait(queue: JobQueue, job: Job, timeout_s: float = 600) -> Job:
    # A generous bound that only stops a hung test; nothing asserts how long a run takes.
    deadline = time.monotonic() + timeout_s
    while not job.finished:
        assert time.monotonic() < deadline, f"job {job.id} never finished: {job.to_dict(None)}"
        time.sleep(0.1)
    return job


# --- safety -----------------------------------------------------------------------------------


def test_every_post_route_refuses_a_form_without_its_csrf_field(client: TestClient) -> None:
    app = client.app
    posts = [
        r.path
        for r in app.routes  # type: ignore[attr-defined]
        if isinstance(r, Route) and r.methods and "POST" in r.methods
    ]
    assert len(posts) >= 6  # upload, save, run, sweep, cancel, audit
    client.get("/")  # the browser has its CSRF cookie; the forms below lack the field
    for path in posts:
        url = path.replace("{name:str}", "x").replace("{job:str}", "0" * 16)
        url = url.replace("{run:str}", "0" * 12)
        refused = client.post(url, data={"name": "x"})
        assert refused.status_code == 403, url
        wrong = client.post(url, data={CSRF_FIELD: "0" * 64})
        assert wrong.status_code == 403, url


def test_a_csrf_field_from_another_browser_is_refused(tmp_path: Path) -> None:
    with make_client(tmp_path) as alice, make_client(tmp_path / "b") as mallory:
        token = csrf_of(mallory)
        alice.get("/")
        refused = alice.post("/new/upload", data={CSRF_FIELD: token})
        assert refused.status_code == 403
        assert "安全令牌" in refused.text


def test_a_token_protected_server_refuses_requests_without_the_token(tmp_path: Path) -> None:
    with make_client(tmp_path, token="s3cret-token", local_only=False) as c:
        assert c.get("/").status_code == 401
        assert "访问令牌" in c.get("/new").text
        assert c.get("/", params={"token": "wrong"}).status_code == 401
        assert c.get("/static/app.css").status_code == 401
        assert c.get("/", headers={"authorization": "Bearer s3cret-token"}).status_code == 200
        # The token in the address becomes a cookie and leaves the address.
        first = c.get("/compare", params={"token": "s3cret-token", "a": "x"})
        assert first.status_code == 303
        assert first.headers["location"] == "/compare?a=x"
        assert c.get("/").status_code == 200


def test_a_local_server_answers_only_to_its_own_host_names(client: TestClient) -> None:
    assert client.get("/").status_code == 200
    assert client.get("http://localhost/").status_code == 200
    assert client.get("/", headers={"host": "evil.example:8000"}).status_code == 400


def test_the_serve_command_generates_a_token_for_another_address(tmp_path: Path) -> None:
    from allocator.web.security import is_loopback, new_token

    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.5")
    a, b = new_token(), new_token()
    assert a != b
    assert len(a) >= 32


# --- uploads ----------------------------------------------------------------------------------


def test_an_upload_is_stored_under_its_hash_whatever_the_client_calls_it(
    client: TestClient, tmp_path: Path
) -> None:
    token = csrf_of(client)
    body = SAMPLE.read_bytes()
    sent = client.post(
        "/new/upload",
        data={CSRF_FIELD: token},
        files={"data": ("../../../etc/evil.csv", body, "text/csv")},
    )
    assert sent.status_code == 303
    from hashlib import sha256

    digest = sha256(body).hexdigest()
    assert sent.headers["location"].startswith(f"/new?data={digest}")
    stored = tmp_path / "ws" / "uploads" / f"{digest}.csv"
    assert stored.read_bytes() == body
    assert not (tmp_path / "etc").exists()
    assert not Path("/etc/evil.csv").exists()
    page = client.get(sent.headers["location"])
    assert "数据检查通过：1500 家企业" in page.text
    assert "evil.csv" in page.text  # shown as a label only


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("data.exe", b"MZ\x90\x00", "只接受 .xlsx 或 .csv 文件"),
        ("data.xlsx", b"credit_code,name\n", "不是 Excel 工作簿"),
        ("data.csv", b"PK\x03\x04rest", "请以 .xlsx 上传"),
        ("data.csv", b"", "文件是空的"),
    ],
)
def test_an_upload_of_the_wrong_type_is_refused(
    client: TestClient, tmp_path: Path, name: str, body: bytes, message: str
) -> None:
    token = csrf_of(client)
    sent = client.post("/new/upload", data={CSRF_FIELD: token}, files={"data": (name, body)})
    assert sent.status_code == 400
    assert message in sent.text
    assert list((tmp_path / "ws" / "uploads").iterdir()) == []


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with make_client(tmp_path, max_upload_mb=1) as c:
        token = csrf_of(c)
        big = b"credit_code,name\n" + b"x" * (2 * 1024 * 1024)
        sent = c.post("/new/upload", data={CSRF_FIELD: token}, files={"data": ("a.csv", big)})
        assert sent.status_code == 413
        assert list((tmp_path / "ws" / "uploads").iterdir()) == []


def test_a_gbk_csv_with_a_mistake_shows_its_row_and_column(
    client: TestClient, tmp_path: Path
) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").splitlines(keepends=True)
    # Row 4 as a spreadsheet counts (the header is row 1): its district is not a district.
    cells = lines[3].split(",")
    cells[2] = "柳州新区"
    lines[3] = ",".join(cells)
    body = "".join(lines).encode("gbk")
    token = csrf_of(client)
    sent = client.post("/new/upload", data={CSRF_FIELD: token}, files={"data": ("季度.csv", body)})
    page = client.get(sent.headers["location"])
    assert "数据有 1 处问题" in page.text
    assert 'data-row="4" data-column="district"' in page.text
    assert "第 4 行" in page.text
    assert "“district”列" in page.text
    assert "柳州新区" in page.text
    assert "季度.csv" in page.text


# --- the catalogue ----------------------------------------------------------------------------


def test_the_pages_take_every_text_from_the_catalogue() -> None:
    """No page has words of its own: each text is a catalogue message (_()) or a value's
    word (word()); tests/test_i18n.py checks that every such message has its Chinese."""
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"\bt\(", text), template.name
        # Outside the message ids, no Chinese but the switch's own name for the language.
        bare = re.sub(r'_\("(?:[^"\\]|\\.)*"\)', "", text).replace(">中文<", "")
        assert not re.search(r"[\u4e00-\u9fff]", bare), template.name


def test_the_pages_switch_to_english_and_back(client: TestClient) -> None:
    assert "新建分配" in client.get("/new").text
    switched = client.get("/lang/en", params={"next": "/new"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/new"
    assert "New allocation" in client.get("/new").text
    assert client.get("/lang/zh", params={"next": "//evil.example"}).headers["location"] == "/"
    assert "新建分配" in client.get("/new").text


def test_a_value_is_shown_by_its_word_and_an_unknown_one_as_it_is() -> None:
    with speaking("zh"):
        assert word("status", "SOMETHING_NEW") == "SOMETHING_NEW"
        assert word("state", "failed") == "失败"
        assert word("rule", "proportional") == "按比例"
        assert _("Page {page} of {pages}, {n} rows").format(page=2, pages=7, n=333) == (
            "第 2 / 7 页，共 333 条"
        )
    with speaking("en"):
        assert word("rule", "proportional") == "proportional"
        assert word("basis", "assumed") == "assumed"


# --- scenarios, the queue and the ledger ------------------------------------------------------


def upload_sample(client: TestClient) -> tuple[str, str]:
    """Upload the sample CSV; the page's CSRF field and the upload's hash."""
    token = csrf_of(client)
    sent = client.post(
        "/new/upload", data={CSRF_FIELD: token}, files={"data": (SAMPLE.name, SAMPLE.read_bytes())}
    )
    return token, sent.headers["location"].split("data=")[1].split("&")[0]


def scenario_form(token: str, digest: str, name: str, budget: str, **extra: str) -> dict[str, str]:
    """The scenario form as the page posts it, for the 2026 model and the proportional rule."""
    form = {
        CSRF_FIELD: token,
        "data": digest,
        "model": "liuzhou-2026-q1-draft.yaml",
        "name": name,
        "budget_wan": budget,
        "rule": "proportional",
        "time_limit_s": "60",
    }
    return {**form, **extra}


def save_sample_scenario(client: TestClient, name: str, budget: str = "5000") -> Path:
    token, digest = upload_sample(client)
    page = client.get(f"/new?data={digest}&model=liuzhou-2026-q1-draft.yaml")
    assert 'id="scenario-form"' in page.text
    # Every parameter field is sent back as shown: unchanged values are no overrides.
    shown = dict(re.findall(r'name="(override:[^"]+)" value="([^"]*)"', page.text))
    saved = client.post("/scenarios", data=scenario_form(token, digest, name, budget, **shown))
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/scenarios/{name}"
    return Path(client.app.state.workspace.scenarios) / f"{name}.yaml"  # type: ignore[attr-defined]


def test_a_scenario_form_with_a_bad_budget_is_refused_with_its_key(client: TestClient) -> None:
    token, digest = upload_sample(client)
    refused = client.post("/scenarios", data=scenario_form(token, digest, "bad", "5000.5"))
    assert refused.status_code == 400
    assert "budget_wan" in refused.text
    assert "a positive whole number" in refused.text
    assert not (client.app.state.workspace.scenarios / "bad.yaml").exists()  # type: ignore[attr-defined]


def test_an_override_the_model_refuses_is_shown_and_nothing_is_saved(client: TestClient) -> None:
    token, digest = upload_sample(client)
    page = client.get(f"/new?data={digest}&model=liuzhou-2026-q1-draft.yaml")
    address = re.search(r'name="override:([^"]+)" value="(0\.\d+)"', page.text)
    assert address, "the 2026 model has a fractional parameter"
    form = scenario_form(token, digest, "odd", "5000", **{f"override:{address.group(1)}": "[1, 2]"})
    refused = client.post("/scenarios", data=form)
    assert refused.status_code == 400
    assert address.group(1) in refused.text
    assert not (client.app.state.workspace.scenarios / "odd.yaml").exists()  # type: ignore[attr-defined]


def test_a_saved_scenario_is_never_replaced_by_another_of_the_same_name(
    client: TestClient,
) -> None:
    path = save_sample_scenario(client, "kept", budget="5000")
    before = path.read_bytes()
    save_sample_scenario(client, "kept", budget="5000")  # the same scenario again: accepted
    token, digest = upload_sample(client)
    refused = client.post("/scenarios", data=scenario_form(token, digest, "kept", "4000"))
    assert refused.status_code == 400
    assert "与其他已保存方案不重复的名称" in refused.text  # the page speaks Chinese by default
    assert path.read_bytes() == before


@pytest.mark.slow
def test_a_web_run_and_a_cli_run_of_the_same_scenario_write_identical_awards(
    client: TestClient, tmp_path: Path
) -> None:
    scenario = save_sample_scenario(client, "sample-2026")
    jobs: JobQueue = client.app.state.jobs  # type: ignore[attr-defined]
    run = client.post("/scenarios/sample-2026/run", data={CSRF_FIELD: csrf_of(client)})
    assert run.status_code == 303
    job = wait(jobs, jobs.get(run.headers["location"].rsplit("/", 1)[1]))  # type: ignore[arg-type]
    assert job.state == "done", job.message
    assert [name for name, _ in job.phases] == ["load", "claims", "build", "solve", "write"]
    web = tmp_path / "ws" / "runs" / job.id

    # The scenario the page saved, run by the command line; and the shipped scenario whose
    # budget, rule and data the form repeated.
    cli = tmp_path / "cli"
    shipped = tmp_path / "shipped"
    # In the page's language (Chinese, no cookie): the workbook speaks the reader's language.
    try:
        for scenario_file, out in ((scenario, cli), (SCENARIO_2026, shipped)):
            result = CliRunner().invoke(
                main, ["--lang", "zh", "run", str(scenario_file), "--out", str(out), "--quiet",
                       "--ledger", str(tmp_path / "cli-ledger.sqlite")],
            )  # fmt: skip
            assert result.exit_code == 0, result.output
    finally:
        set_language(None)
    for name in ("awards.csv", "constraints.csv", "awards.xlsx"):
        assert (web / name).read_bytes() == (cli / name).read_bytes(), name
    assert (web / "awards.csv").read_bytes() == (shipped / "awards.csv").read_bytes()

    # Recorded in the ledger as the command line records, and shown on the pages.
    entries = list_runs(client.app.state.config.ledger)  # type: ignore[attr-defined]
    assert [e.output_dir for e in entries] == [str(web.resolve())]
    assert entries[0].command_line.startswith("allocate run ")
    assert entries[0].run_id.startswith(job.run_id[:12])
    home = client.get("/")
    assert entries[0].short_id in home.text
    assert "sample-2026" in home.text
    result_page = client.get(f"/runs/{entries[0].short_id}", params={"q": "泰美茂"})
    assert "柳州泰美茂工程机械有限公司（模拟）" in result_page.text
    audit = client.post(f"/runs/{entries[0].short_id}/audit", data={CSRF_FIELD: csrf_of(client)})
    assert 'data-verdict="passed"' in audit.text


@pytest.mark.slow
def test_a_cancelled_or_crashed_run_leaves_no_folder_and_no_ledger_entry(
    client: TestClient, tmp_path: Path
) -> None:
    save_sample_scenario(client, "to-stop")
    jobs: JobQueue = client.app.state.jobs  # type: ignore[attr-defined]
    scenario = client.app.state.workspace.scenarios / "to-stop.yaml"  # type: ignore[attr-defined]

    # Three jobs queue behind each other: one solve at a time.
    first = jobs.submit("run", scenario)
    second = jobs.submit("run", scenario)
    third = jobs.submit("run", scenario)
    while first.state == "queued":
        time.sleep(0.05)
    assert jobs.position(second) == 1
    assert jobs.position(third) == 2
    jobs.cancel(third)  # cancelled while waiting: it never starts
    jobs.cancel(first)  # cancelled while running: interrupted as Ctrl-C interrupts a run
    wait(jobs, first)
    assert first.state == "cancelled"

    while second.pid is None or second.state == "queued":
        time.sleep(0.05)
    os.kill(second.pid, signal.SIGKILL)  # the solving process dies mid-run
    wait(jobs, second)
    wait(jobs, third)
    assert second.state == "failed"
    assert "unexpectedly" in second.message
    assert third.state == "cancelled"
    assert third.pid is None

    workspace = tmp_path / "ws"
    assert list((workspace / "runs").iterdir()) == []
    assert list((workspace / ".work").iterdir()) == []
    assert list_runs(client.app.state.config.ledger) == []  # type: ignore[attr-defined]
    state = client.get(f"/jobs/{second.id}/state").json()
    assert state["state"] == "failed"


def test_static_files_hold_no_address_outside_the_server() -> None:
    static = ROOT / "src" / "allocator" / "web" / "static"
    for path in [*static.iterdir(), *TEMPLATES.iterdir()]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path.name
        assert "http://" not in text, path.name
        assert "https://" not in text, path.name


def test_the_pages_of_docs_web_md_are_routed(tmp_path: Path) -> None:
    app = create_app(Config(workspace=tmp_path / "ws", models=MODELS, ledger="sqlite://"))
    paths = {r.path for r in app.routes if isinstance(r, Route | Mount)}
    documented = (ROOT / "docs" / "web.md").read_text(encoding="utf-8")
    for page in ("/", "/new", "/scenarios/{name:str}", "/jobs/{job:str}", "/runs/{run:str}",
                 "/compare", "/sweeps/{sweep:str}"):  # fmt: skip
        assert page in paths
        assert f"`{page.split('{')[0]}" in documented, page


def test_serve_binds_to_this_machine_unless_told_and_then_needs_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    started: list[tuple[object, str]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, host, port, **_: started.append((app, host)))
    monkeypatch.delenv("ALLOCATE_TOKEN", raising=False)
    base = ["serve", "--workspace", str(tmp_path / "ws"), "--models", str(MODELS),
            "--ledger", str(tmp_path / "ledger.sqlite")]  # fmt: skip

    local = CliRunner().invoke(main, base)
    assert local.exit_code == 0, local.output
    config = started[-1][0].state.config  # type: ignore[attr-defined]
    assert started[-1][1] == "127.0.0.1"
    assert config.token is None
    assert config.local_only

    wide = CliRunner().invoke(main, [*base, "--host", "0.0.0.0"])
    assert wide.exit_code == 0, wide.output
    config = started[-1][0].state.config  # type: ignore[attr-defined]
    assert config.token
    assert not config.local_only
    assert f"?token={config.token}" in wide.output  # printed with the address to open

    given = CliRunner().invoke(main, [*base, "--host", "0.0.0.0", "--token", "given-token"])
    assert given.exit_code == 0, given.output
    assert started[-1][0].state.config.token == "given-token"  # type: ignore[attr-defined]
