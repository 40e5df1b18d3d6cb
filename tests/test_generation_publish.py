"""Publishing to the Hub with a fake API: the token comes from the environment and is never shown."""
from __future__ import annotations

import logging

import pytest

from clear_bench.errors import ClearBenchError
from clear_bench.generation import build_demo
from clear_bench.cli import clear_generate_main as main
from clear_bench.generation.publish import push_to_hub

SECRET = "hf_TESTtokenNEVERshown123"


class FakeApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", kw["repo_id"], kw))

    def upload_file(self, **kw):
        self.calls.append(("upload_file", kw["repo_id"], kw))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("pub") / "out", authors=6, images_per_author=1, holdout_authors=0,
                      image_size=16)


def test_push_uses_the_env_token_and_never_shows_it(demo, monkeypatch, caplog, capsys):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    api = FakeApi()
    with caplog.at_level(logging.DEBUG):
        url = push_to_hub(demo, "me/clear-demo", api=api)
    assert url.endswith("datasets/me/clear-demo")
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder", "upload_file"]
    assert all(c[2]["token"] == SECRET and c[2]["repo_type"] == "dataset" for c in api.calls)
    assert api.calls[1][2]["folder_path"] == str(demo / "clear")
    out = capsys.readouterr()
    assert SECRET not in caplog.text + out.out + out.err


def _no_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)  # no stored `hf auth login` either


def test_push_without_token_fails_clearly(demo, monkeypatch):
    _no_token(monkeypatch)
    with pytest.raises(ClearBenchError, match="HF_TOKEN"):
        push_to_hub(demo, "me/clear-demo", api=FakeApi())


def test_cli_push_without_token_fails_before_any_work(tmp_path, monkeypatch, capsys):
    _no_token(monkeypatch)
    assert main(["--out", str(tmp_path / "o"), "--push-to-hub", "me/x", "--quiet"]) == 2
    assert "HF_TOKEN" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_stored_login_is_used_when_the_environment_has_no_token(monkeypatch):
    from clear_bench.generation.publish import token_from_env

    _no_token(monkeypatch)
    monkeypatch.setattr("huggingface_hub.get_token", lambda: "hf_stored")
    assert token_from_env() == "hf_stored"


def test_cli_push_with_fake_api(tmp_path, monkeypatch, capsys):
    import huggingface_hub

    api = FakeApi()
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: api)
    assert main(["--out", str(tmp_path / "o"), "--authors", "6", "--holdout-authors", "0", "--images-per-author", "1",
                 "--image-size", "16", "--push-to-hub", "me/x", "--quiet"]) == 0
    out = capsys.readouterr()
    assert "pushed: https://huggingface.co/datasets/me/x" in out.out and SECRET not in out.out + out.err
    assert api.calls and api.calls[0][1] == "me/x"
