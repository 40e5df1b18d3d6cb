"""Bad input to `clear-eval --track visual` (and the track flag) fails with one line, before any training."""
import pytest

from clear_bench.cli import clear_eval_main
from clear_bench.errors import ClearBenchError


@pytest.mark.parametrize("argv, needle", [
    (["--track", "audio", "--method", "ga"], "unknown track 'audio'"),
    (["--track", "visual", "--method", "npo"], "belongs to the multimodal track"),
    (["--method", "scrub_bio"], "belongs to the visual track"),
    (["--track", "visual", "--method", "ga", "--splits", "7"], "even number"),
    (["--track", "visual", "--method", "ga", "--splits", "2"], "at least 4"),
    (["--method", "npo", "--splits", "8"], "--splits belongs to --track visual"),
    (["--track", "visual", "--method", "ga", "--lr", "0.1"], "--lr belongs to --track multimodal / text, not --track visual"),
    (["--track", "visual", "--method", "ga", "--method-arg", "beta=2"], "has no hyper-parameter 'beta'"),
    (["--track", "visual", "--method", "ga", "--pretrain"], "no pretraining face set"),
    (["--track", "visual", "--method", "ga", "--method-arg", "epochs=-1"], "epochs must be >= 1"),  # issue 28
    (["--track", "visual", "--method", "twins", "--method-arg", "lr=1e308"], "--method-arg lr must be in (0, 10]"),
    (["--track", "visual", "--method", "ga", "--forget", "3"], "forget size 3"),
])
def test_one_line_errors(argv, needle, capsys, tmp_path):
    assert clear_eval_main(argv + ["--preset", "demo", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and needle in err and "\n" not in err, err
    assert not (tmp_path / "run").exists()


def test_too_few_images_per_identity_fails_before_training(demo_source):
    from clear_bench.visual.data import FaceDataConfig, load_faces

    with pytest.raises(ClearBenchError, match="5 images or fewer"):
        load_faces(FaceDataConfig(kind="procedural", image_size=32, images_per_identity=5), demo_source, 10)
