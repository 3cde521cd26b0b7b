from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from edgetrack.train.distributed import cleanup, init_distributed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from tests.unit.train.test_loop import make_trainer

    info = init_distributed(torch.device("cpu"))
    trainer, student = make_trainer(f"{out_dir}/rank{rank}", dist=info)
    assert trainer.total_steps == 3  # 8 pairs per epoch over 2 ranks of batch 4: one step per epoch
    trainer.fit()
    flat = torch.cat([p.detach().flatten() for p in student.parameters()])
    torch.save(flat, f"{out_dir}/params{rank}.pt")
    cleanup(info)


@pytest.mark.slow
def test_two_process_gloo_keeps_ranks_identical(tmp_path) -> None:
    if not dist.is_gloo_available():
        pytest.skip("torch built without gloo")
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a, b = torch.load(tmp_path / "params0.pt"), torch.load(tmp_path / "params1.pt")
    assert torch.equal(a, b)
    from tests.unit.train.test_loop import make_trainer

    _, untouched = make_trainer(tmp_path / "ref")
    assert not torch.equal(a, torch.cat([p.detach().flatten() for p in untouched.parameters()]))
