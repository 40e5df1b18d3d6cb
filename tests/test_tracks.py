"""The tracks registry (`clear_bench/tracks.py`) is the seam every track passes through: each shared flag is
honoured or refused on every track, `ls KIND --track T` lists that track's entries, every track claims its run
folder with the same marker (and a lock), and `--seeds` works on every track. Each of issue 21's seven track bugs
has its test here."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from clear_bench import runs
from clear_bench.cli import clear_eval_main, main
from clear_bench.tracks import TRACKS, get_track

ROOT = Path(__file__).resolve().parents[1]


def _errors(capsys):
    return [line for line in capsys.readouterr().err.strip().splitlines() if line.startswith("error:")]


def _one_error(capsys, code):
    errors = _errors(capsys)
    assert code == 2 and len(errors) == 1, errors
    return errors[0]


# --------------------------------------------------------------------------- the registry


def test_every_track_names_its_recipe_family_tasks_headline_presets_and_flags():
    from clear_bench.eval.tasks import TASKS, get_task

    assert list(TRACKS) == ["multimodal", "text", "visual"]
    for t in TRACKS.values():
        assert t.recipe in ("lm", "split-model") and t.family and t.headline and t.flags
        assert t.default_method in t.method_names()
        assert set(t.get_presets()) >= {"paper", "demo"}
        for name in t.tasks:
            assert get_task(name).name == name
        assert all(arrow in ("↑", "↓", "→", "→0.5") for _, _, arrow in t.headline)
    # the multimodal track's tasks are the registry's, in its order (nothing else lists them)
    assert get_track("multimodal").tasks == tuple(TASKS)


def test_the_leaderboard_and_transfer_read_the_tracks_registry():
    from clear_bench.leaderboard.build import TRACKS as BOARDS
    from clear_bench.leaderboard.transfer import TRACK_METRICS

    assert {n: b for n, b in BOARDS.items()} == {n: t.board for n, t in TRACKS.items()}
    assert TRACK_METRICS["text"] == {"forget": "text_forget_metric", "retain": "text_retain_metric"}


# --------------------------------------------------------------------------- flags: honoured or refused


CLEAR_EVAL_VALUES = {  # a valid non-default value of every clear-eval flag
    "--modality": "text", "--forget": "5", "--preset": "demo", "--data": "demo", "--tofu": "tofu-copy",
    "--model": "tiny", "--lora-r": "4", "--l1-lambda": "0.1", "--epochs": "2", "--lr": "0.01", "--batch-size": "2",
    "--seed": "7", "--cap": "3", "--compile": None, "--splits": "4", "--pretrain": None,
    "--trust-remote-code": None, "--seeds": "2", "--method-arg": "beta=0.2", "--out": "somewhere", "--threads": "1",
    "--attacks": "quanto-int4", "--allow-unmemorised": None, "--sequence": "1,5", "--config": "run.yaml", "--vary": "train",
}


def _clear_eval_flags():
    """Every flag of clear-eval's parser, as (dest, option string)."""
    import argparse

    captured = {}

    def fake_parse(self, args=None, namespace=None):
        captured["parser"] = self
        raise SystemExit(0)

    orig = argparse.ArgumentParser.parse_args
    argparse.ArgumentParser.parse_args = fake_parse
    try:
        with pytest.raises(SystemExit):
            clear_eval_main([])
    finally:
        argparse.ArgumentParser.parse_args = orig
    return {a.dest: a.option_strings[0] for a in captured["parser"]._actions
            if a.option_strings and a.dest not in ("help", "verbose", "track", "method")}


@pytest.mark.parametrize("track", list(TRACKS))
def test_every_shared_flag_is_honoured_or_refused_on_every_track(track, capsys, tmp_path, monkeypatch):
    """A flag a track does not honour is a one-line error naming it, before any work; a flag it honours is a
    field of the track's job config (so it reaches the job)."""
    import dataclasses

    from clear_bench.job import JobConfig
    from clear_bench.visual import VisualJobConfig

    t = get_track(track)
    fields = {f.name for f in dataclasses.fields(JobConfig if t.recipe == "lm" else VisualJobConfig)}
    flags = _clear_eval_flags()
    assert set(flags.values()) <= set(CLEAR_EVAL_VALUES)
    monkeypatch.chdir(tmp_path)
    for dest, opt in flags.items():
        if dest in t.flags:
            # --attacks runs after the job (`attacks.run.run_attacks` on its folder), not inside it
            assert dest in fields | {"seeds", "method_arg", "modality", "threads", "attacks", "config", "vary"}, \
                (track, dest)
            continue
        value = CLEAR_EVAL_VALUES[opt]
        argv = ["--track", track, "--preset", "demo", opt] + ([] if value is None else [value])
        error = _one_error(capsys, clear_eval_main(argv))
        assert opt in error and f"--track {track}" in error, error
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_a_method_of_another_track_is_refused_naming_it(capsys):
    error = _one_error(capsys, clear_eval_main(["--track", "visual", "--method", "npo"]))
    assert "belongs to the multimodal track" in error
    error = _one_error(capsys, clear_eval_main(["--track", "text", "--method", "sisa", "--preset", "demo"]))
    assert "does not run on the text track" in error


def test_text_track_refuses_a_missing_tofu_copy_in_one_line(capsys, tmp_path, monkeypatch):
    """Bug 1: `--track text --tofu ./no-such-dir` started training (the flag was never read)."""
    code = clear_eval_main(["--track", "text", "--preset", "demo", "--tofu", str(tmp_path / "no-such-dir"),
                            "--out", str(tmp_path / "run")])
    error = _one_error(capsys, code)
    assert "TOFU folder" in error and "no-such-dir" in error and "does not exist" in error
    assert not (tmp_path / "run").exists()


def _no_training(*a, **k):
    raise AssertionError("training started")


class _Loaded(Exception):
    pass


def test_text_track_honours_trust_remote_code(monkeypatch, tmp_path):
    """Bug 2: `--track text` dropped `--trust-remote-code` (the tiny base loaded with it False)."""
    from clear_bench.job import JobConfig, run_job

    seen = []

    def spy(cls, name, device, dtype, trust_remote_code):
        seen.append(trust_remote_code)
        raise _Loaded()

    import clear_bench.models.causal_lm  # noqa: F401  (imported first: it binds load_weights at import)

    for module in ("clear_bench.models.loading", "clear_bench.models.causal_lm"):
        monkeypatch.setattr(f"{module}.load_weights", spy)
    with pytest.raises(_Loaded):
        run_job(JobConfig(track="text", preset="demo", trust_remote_code=True, out=str(tmp_path / "run")))
    assert seen == [True]


# --------------------------------------------------------------------------- --seeds on every track


def test_visual_track_runs_every_seed(monkeypatch, tmp_path, capsys):
    """Bug 3: `--track visual --seeds 3` silently ran one seed."""
    import clear_bench.visual as visual

    ran = []

    def fake_job(cfg):
        ran.append(cfg.seed)
        out = Path(cfg.out)
        out.mkdir(parents=True)
        (out / "summary.json").write_text(json.dumps({"metrics": {"ulira": {"value": cfg.seed / 100,
                                                                            "direction": "→0.5"}}}))
        return out

    monkeypatch.setattr(visual, "run_visual_job", fake_job)
    out = tmp_path / "group"
    assert clear_eval_main(["--track", "visual", "--preset", "demo", "--seeds", "3", "--out", str(out)]) == 0
    assert ran == [42, 43, 44]
    assert sorted(p.name for p in out.glob("seed-*")) == ["seed-42", "seed-43", "seed-44"]
    spread = json.loads((out / "seeds.json").read_text())["spread"]
    assert spread["ulira"]["n"] == 3 and spread["ulira"]["mean"] == pytest.approx(0.43)


# --------------------------------------------------------------------------- one run per folder, every track


def _other_run(folder: Path, track: str = "multimodal") -> Path:
    """A folder holding another clear-eval run (its marker and a result)."""
    runs.claim(folder, runs.CLEAR_EVAL, runs.run_identity(track, method="gd", seed=1)).start().finish()
    (folder / "results.md").write_text("gd's results\n")
    return folder


@pytest.mark.parametrize("track, extra", [("text", []), ("visual", ["--method", "scrub_bio"])])
def test_every_track_refuses_another_run_s_folder_before_any_work(track, extra, tmp_path, capsys, monkeypatch):
    """Bug 4 (and issue 28's run-mixing cases): the text track overwrote another run's folder, the visual track
    replaced another method's record; both now claim their folder with the same marker as the multimodal job."""
    monkeypatch.setattr("clear_bench.visual.job.cached_split_models", _no_training)
    for other in ("multimodal", "text" if track == "visual" else "visual"):
        folder = _other_run(tmp_path / other, other)
        before = {p.name: p.read_bytes() for p in folder.iterdir()}
        error = _one_error(capsys, clear_eval_main(["--track", track, "--preset", "demo", "--out", str(folder)]
                                                   + extra))
        assert "holds another run" in error and "track" in error, error
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    user = tmp_path / "mine"
    user.mkdir()
    (user / "results.md").write_text("my notes\n")
    error = _one_error(capsys, clear_eval_main(["--track", track, "--preset", "demo", "--out", str(user)] + extra))
    assert "did not write" in error and (user / "results.md").read_text() == "my notes\n"


def test_the_text_track_runs_the_lm_recipe_and_claims_with_the_same_marker(tmp_path):
    """One job (`job.py`'s steps) for the multimodal and text tracks: the text run's claim is the multimodal
    job's marker, kind and identity fields, its track named."""
    from clear_bench.job import JobConfig, resolve

    jobs = {t: resolve(JobConfig(track=t, preset="demo", out=str(tmp_path / t))) for t in ("multimodal", "text")}
    for t, job in jobs.items():
        assert job.run.kind == runs.CLEAR_EVAL and job.run.identity["track"] == t
        runs.release(job.out)
    # the text run's identity adds its scored EOS (docs/text_track.md); multimodal identities stay what they were
    assert set(jobs["text"].run.identity) == set(jobs["multimodal"].run.identity) | {"score_eos"}
    assert jobs["text"].run.identity["score_eos"] is True
    text = get_track("text")  # the demo data has holdout authors: their QA are scored too
    assert jobs["text"].family.name == "causal-lm" and jobs["text"].tasks == [*text.tasks, *text.optional_tasks]
    assert not any(tmp_path.iterdir())  # resolving writes nothing


CLAIM_AND_WAIT = textwrap.dedent("""
    import sys, time
    from clear_bench import runs
    from clear_bench.errors import ClearBenchError
    try:
        runs.claim(sys.argv[1], runs.CLEAR_EVAL, {"method": sys.argv[2]})
    except ClearBenchError as e:
        print("refused:", e, flush=True)
        sys.exit(2)
    print("claimed", flush=True)
    time.sleep(float(sys.argv[3]))
""")


def test_two_processes_started_together_cannot_claim_one_folder(tmp_path):
    """Issue 28: gd and npo started at the same moment into one empty --out both ran; now one is refused."""
    out = tmp_path / "run"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "CLEAR_BENCH_CACHE": str(tmp_path / "cache")}
    procs = [subprocess.Popen([sys.executable, "-c", CLAIM_AND_WAIT, str(out), m, "3"], env=env,
                              stdout=subprocess.PIPE, text=True) for m in ("gd", "npo")]
    results = sorted((p.wait(60), p.stdout.read()) for p in procs)
    assert [code for code, _ in results] == [0, 2], results
    assert "in use by another clear-bench process" in results[1][1]


def test_clear_eval_refuses_a_folder_another_process_holds(tmp_path):
    """A real clear-eval into a folder another process holds is refused in one line, before any work."""
    out = tmp_path / "run"
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "CLEAR_BENCH_CACHE": str(tmp_path / "cache")}
    holder = subprocess.Popen([sys.executable, "-c", CLAIM_AND_WAIT, str(out), "gd", "60"], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "claimed"
        r = subprocess.run([sys.executable, "-c", "import sys; from clear_bench.cli import clear_eval_main; "
                            f"sys.exit(clear_eval_main(['--track', 'visual', '--preset', 'demo', '--out', {str(out)!r}]))"],
                           env=env, capture_output=True, text=True, timeout=300)
        errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
        assert r.returncode == 2 and len(errors) == 1 and "in use by another clear-bench process" in errors[0], r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_finished_run_lets_another_process_resume_it(tmp_path):
    out = tmp_path / "run"
    runs.claim(out, runs.CLEAR_EVAL, {"method": "gd"}).start().finish()
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "CLEAR_BENCH_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-c", CLAIM_AND_WAIT, str(out), "gd", "0"], env=env, capture_output=True,
                       text=True)
    assert r.returncode == 0 and "claimed" in r.stdout


# --------------------------------------------------------------------------- ls --track


def test_ls_tasks_and_presets_list_the_track_s_own(capsys):
    """Bugs 5 and 6: `ls tasks --track text` and `ls presets --track text` printed the multimodal lists."""
    assert main(["ls", "tasks", "--track", "text"]) == 0
    out = capsys.readouterr().out
    assert "text_forget" in out and "text_world_facts" in out and "forget_captions" not in out
    assert "text_holdout      holdout  tofu:holdout_perturbed      when the data has it" in out
    assert main(["ls", "presets", "--track", "text"]) == 0
    out = capsys.readouterr().out
    assert "Llama-2-7b-chat" in out and "Qwen2-VL" not in out
    assert main(["ls", "presets", "--track", "visual"]) == 0
    assert "resnet-18" in capsys.readouterr().out
    assert main(["ls", "tasks", "--track", "visual"]) == 0
    assert "no evaluation tasks" in capsys.readouterr().out
    assert main(["ls", "tasks"]) == 0
    assert "forget_captions" in capsys.readouterr().out


# --------------------------------------------------------------------------- fine-tune manifests


@pytest.mark.slow
def test_text_fine_tune_manifest_has_the_shared_fields(demo_source, tmp_path):
    """Bug 7: the text fine-tune manifest lacked tool, hardware and weights_sha256 (text/finetune.py had
    drifted from training/finetune.py); both now write it with `training.finetune.save_finetuned`."""
    import dataclasses

    from clear_bench.job import finetune_recipe
    from clear_bench.presets import TEXT_PRESETS
    from clear_bench.training.finetune import MANIFEST, finetune
    from clear_bench.utils import weights_checksum

    preset = TEXT_PRESETS["demo"]
    preset = dataclasses.replace(preset, finetune=dataclasses.replace(preset.finetune, epochs=1))
    out = finetune(finetune_recipe(preset, "full"), demo_source, tmp_path / "m", cache_dir=tmp_path,
                   family="causal-lm")
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["tool"] == "clear-bench" and manifest["hardware"]
    assert manifest["weights_sha256"] == weights_checksum(out)
    assert manifest["family"] == "causal-lm" and manifest["data_config"] == "tofu:full"


def test_the_default_run_folder_names_preset_and_model():
    """Issue 27.4: without --out, runs of another preset or model never share a folder."""
    from clear_bench.tracks import get_track

    mm, text, visual = (get_track(t) for t in ("multimodal", "text", "visual"))
    assert mm.default_out("npo", "both", 10, "demo", "tiny") == "runs/npo-both-forget10-demo-tiny"
    assert mm.default_out("npo", "both", 10, "paper", "Qwen/Qwen2-VL-2B-Instruct/") == \
        "runs/npo-both-forget10-paper-Qwen2-VL-2B-Instruct"
    assert text.default_out("my.mod:Method", "text", 5, "demo", "tiny-text") == \
        "runs/text-my.mod.Method-forget05-demo-tiny-text"
    assert visual.default_out("ga", "image", 10, "demo") == "runs/visual-ga-forget10-demo"
    assert len({mm.default_out("npo", "both", 10, p, m) for p in ("demo", "paper") for m in ("a", "b")}) == 4
