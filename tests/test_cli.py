"""`python -m genlab.train` exactly as a user types it."""

import pytest


@pytest.mark.slow
def test_train_from_the_command_line(run_cli, tmp_path):
    result = run_cli(
        "model=cgan",
        "arch=cnn",
        "data=synthetic",
        "trainer.epochs=1",
        "data.batch_size=32",
        "device=cpu",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = (tmp_path / "outputs" / "runs").iterdir()
    assert run.name.endswith("_cgan_cnn")
    assert (run / "checkpoints" / "last.pt").is_file()
    assert list(run.glob("events.out.tfevents.*"))
    assert "run directory" in result.stdout
