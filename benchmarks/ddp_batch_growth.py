"""Decaying the LR vs increasing the batch under DDP: measured at W = 1, 2, projected to 1,024.

Smith et al. (2018) claim that growing the batch instead of decaying the LR buys
"greater parallelism and shorter training times": the same epochs in fewer, bigger
updates, so fewer all-reduces. This measures it on this machine and fits a cost
model to project it.

Measured (``torchrun --nproc_per_node W``, gloo, one thread per process, W = 1 and
2 interleaved run by run so that both see the same machine load): the MNIST-1D CNN
of the smith2018 set-up, SGD with momentum 0.9, the same epochs for

- ``decaying-lr``: batch ``B0``, the LR divided by 5 at 30/60/80% of the epochs;
- ``increasing-batch``: ``increase_batch_instead`` of that schedule (the batch grows
  x5 at each milestone up to the cap, the LR takes the rest).

Per run: wall time of the training loop, every update's time, the number of
all-reduces DDP issued (a comm hook counts them) and the time each took from launch
to completion. A microbenchmark times ``all_reduce`` at W = 2 over message sizes.

Cost model (assumptions written in docs/batch_size.md): one update at global batch
``B`` on ``W`` workers takes ``a + b * ceil(B / W) + (1 - o) * c(W, S)`` with ``a``
the per-update overhead, ``b`` the compute per sample (both fitted on W = 1), ``o``
the overlap of communication with compute (fitted on W = 2 from the per-update
hook times), and ``c`` a ring all-reduce of ``S`` bytes,
``c = 2 (W - 1) alpha + 2 (W - 1) / W * S / beta``. The model is checked against the
measured wall times at W = 1 and W = 2, then projected for W = 1..1024 at given
bandwidths.

Run from the repository root (a few minutes)::

    python benchmarks/ddp_batch_growth.py [--epochs 10] [--repeats 2]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))
from _report import command_line, machine_line, markdown_table, write_section  # noqa: E402

SCHEDULES = ("decaying-lr", "increasing-batch")
MILESTONES = (0.3, 0.6, 0.8)  # fractions of the epochs, as in the smith2018 set-up
GAMMA = 0.2
MOMENTUM = 0.9
LR = 0.05
SIZES = (2**8, 2**11, 2**14, 2**17, 2**20, 2**22)  # bytes, for the all-reduce microbenchmark
WORLDS = tuple(2**k for k in range(11))  # 1 .. 1024
BANDWIDTHS = (1.0, 10.0, 100.0)  # Gbit/s
ALPHA = 10e-6  # s per ring hop (an assumption for a datacentre network)


# -- the worker (one process per rank, started by torchrun) -----------------------


def _model() -> Any:
    from torch import nn

    # the smith2018 MNIST-1D CNN (lrkit.experiments' mnist1d task), about 5k weights
    return nn.Sequential(
        nn.Unflatten(1, (1, 40)),
        nn.Conv1d(1, 25, 5, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(25 * 5, 10),
    )


def _plan(schedule: str, epochs: int, b0: int, cap: int) -> tuple[Any, Any]:
    from lrkit.batch_size import BatchConstant, increase_batch_instead
    from lrkit.schedules import MultiStepDecay

    ref = MultiStepDecay(lr=LR, milestones=[m * epochs for m in MILESTONES], gamma=GAMMA)
    if schedule == "decaying-lr":
        return ref, BatchConstant(batch_size=b0)
    plan = increase_batch_instead(ref, b0, cap, momentum=MOMENTUM)
    return plan.lr, plan.batch_size


def _allreduce_sizes(world: int) -> list[list[float]]:
    import torch
    import torch.distributed as dist

    out = []
    for size in SIZES:
        buf = torch.zeros(size // 4, dtype=torch.float32)
        for _ in range(3):
            dist.all_reduce(buf)
        reps = max(5, min(200, int(2e7 / size)))
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(reps):
            dist.all_reduce(buf)
        out.append([size, (time.perf_counter() - t0) / reps])
    return out


def worker(args: argparse.Namespace) -> None:
    import torch
    import torch.distributed as dist

    from lrkit.torch import ScheduledLoader, accumulate_gradients

    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=300))
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    data = np.load(args.data)
    train = torch.utils.data.TensorDataset(torch.from_numpy(data["x"]), torch.from_numpy(data["y"]))
    lr_schedule, batch_schedule = _plan(args.schedule, args.epochs, args.batch_size, args.cap)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(_model())
    params = sum(p.numel() for p in model.parameters())
    hook_times: list[float] = []

    def timed_allreduce(_, bucket):  # type: ignore[no-untyped-def]  # torch checks annotations
        t0 = time.perf_counter()
        buf = bucket.buffer().div_(world)
        fut = dist.all_reduce(buf, async_op=True).get_future()

        def done(f: Any) -> Any:
            hook_times.append(time.perf_counter() - t0)
            return f.value()[0]

        return fut.then(done)

    model.register_comm_hook(None, timed_allreduce)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loader = ScheduledLoader(train, batch_schedule, seed=0)
    loss_fn = torch.nn.functional.cross_entropy
    steps: list[list[float]] = []  # global batch, wall s, all-reduce s in the step, CPU s
    dist.barrier()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    while loader.epoch < args.epochs:
        t0, c0 = time.perf_counter(), time.process_time()
        for x, y in loader:
            for g in opt.param_groups:
                g["lr"] = float(lr_schedule(loader.batch_time))
            opt.zero_grad()
            before = len(hook_times)
            accumulate_gradients(model, loss_fn, x, y, global_batch_size=loader.batch_size)
            opt.step()
            t1, c1 = time.perf_counter(), time.process_time()
            steps.append([loader.batch_size, t1 - t0, sum(hook_times[before:]), c1 - c0])
            t0, c0 = t1, c1
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    comm_sizes = _allreduce_sizes(world) if world > 1 else []
    model.eval()
    with torch.no_grad():
        xt, yt = torch.from_numpy(data["x_test"]), torch.from_numpy(data["y_test"])
        acc = float((model(xt).argmax(1) == yt).float().mean())
    (Path(args.out) / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "world": world,
                "schedule": args.schedule,
                "wall": wall,
                "cpu": cpu,
                "steps": steps,
                "allreduces": len(hook_times),
                "comm": sum(hook_times),
                "params": params,
                "bucket_bytes": 4 * params,
                "allreduce_by_size": comm_sizes,
                "test_acc": acc,
            }
        )
    )
    dist.destroy_process_group()


# -- the launcher -------------------------------------------------------------------


def _data(path: Path, samples: int) -> None:
    import random

    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = samples
    state, pystate = np.random.get_state(), random.getstate()  # noqa: NPY002
    d = make_dataset(args)
    np.random.set_state(state)  # noqa: NPY002
    random.setstate(pystate)
    np.savez(
        path,
        x=d["x"].astype(np.float32),
        y=d["y"].astype(np.int64),
        x_test=d["x_test"].astype(np.float32),
        y_test=d["y_test"].astype(np.int64),
    )


def _launch(world: int, schedule: str, out: Path, args: argparse.Namespace, data: Path) -> dict:
    out.mkdir(parents=True)
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(world),
        "--master_port", str(29500 + (os.getpid() % 2000)),
        str(Path(__file__).resolve()), "--worker", "--schedule", schedule,
        "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
        "--cap", str(args.cap), "--data", str(data), "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(cmd, env=env, timeout=900, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(
            f"torchrun failed ({' '.join(cmd)}):\n{done.stdout[-6000:]}{done.stderr[:5000]}"
        )
    ranks = [json.loads((out / f"rank{r}.json").read_text()) for r in range(world)]
    run = dict(ranks[0])
    run["wall"] = max(r["wall"] for r in ranks)  # the slowest rank ends the step
    return run


def _fit_compute(runs: list[dict], column: int = 1) -> tuple[float, float]:
    """Least squares of step time (wall: column 1, CPU: 3) on [1, B] over all W = 1 steps."""
    rows = np.array([s for r in runs for s in r["steps"]], dtype=np.float64)
    design = np.stack([np.ones(len(rows)), rows[:, 0]], axis=1)
    coef, *_ = np.linalg.lstsq(design, rows[:, column], rcond=None)
    return float(coef[0]), float(coef[1])


def _fit_allreduce(points: list[list[float]]) -> tuple[float, float]:
    """``t = alpha2 + S / beta2`` at W = 2 (seconds, bytes per second)."""
    arr = np.array(points, dtype=np.float64)
    design = np.stack([np.ones(len(arr)), arr[:, 0]], axis=1)
    coef, *_ = np.linalg.lstsq(design, arr[:, 1], rcond=None)
    return float(coef[0]), 1.0 / max(float(coef[1]), 1e-15)


def _fit_overlap(runs: list[dict], a: float, b: float) -> float:
    """Exposed share of the hook-timed all-reduce at W = 2: step - (a + b B / 2) ~ (1 - o) c."""
    rows = np.array([s for r in runs for s in r["steps"]], dtype=np.float64)
    extra = rows[:, 1] - (a + b * np.ceil(rows[:, 0] / 2))
    c = rows[:, 2]
    exposed = float(np.dot(extra, c) / max(np.dot(c, c), 1e-30))
    return min(1.0, max(0.0, 1.0 - exposed))


def _ring(world: int, size: float, alpha: float, beta: float) -> float:
    if world == 1:
        return 0.0
    return 2 * (world - 1) * alpha + 2 * (world - 1) / world * size / beta


def predict(batches: list[int], world: int, a: float, b: float, o: float, comm: float) -> float:
    """Wall time of a run whose updates have global ``batches``, on ``world`` workers."""
    per = np.ceil(np.asarray(batches, dtype=np.float64) / world)
    return float(len(batches) * (a + (1 - o) * comm) + b * per.sum())


def project(
    batches_of: dict[str, list[int]], a: float, b: float, o: float, size: float
) -> tuple[dict[tuple[str, float], list[float]], list[list[Any]], list[list[Any]]]:
    """Wall time of both schedules for every W and bandwidth; where each stops scaling."""
    proj: dict[tuple[str, float], list[float]] = {}
    best_rows: list[list[Any]] = []
    for bw in BANDWIDTHS:
        beta = bw * 1e9 / 8
        for s in SCHEDULES:
            times = [
                predict(batches_of[s], w, a, b, o, _ring(w, size, ALPHA, beta)) for w in WORLDS
            ]
            proj[(s, bw)] = times
            k = int(np.argmin(times))
            # where it stops scaling: the first W whose doubling saves < 10%
            stop = next(
                (WORLDS[i] for i in range(len(WORLDS) - 1) if times[i + 1] > 0.9 * times[i]),
                WORLDS[-1],
            )
            best_rows.append(
                [f"{bw:g}", s, stop, WORLDS[k], f"{times[k]:.3g}", f"{times[0] / times[k]:.1f}x"]
            )
    ratio_rows = []
    for bw in BANDWIDTHS:
        dec, inc = proj[("decaying-lr", bw)], proj[("increasing-batch", bw)]
        ratio_rows.append([f"{bw:g}", *(f"{dec[i] / inc[i]:.1f}" for i in (0, 1, 3, 5, 7, 10))])
    return proj, best_rows, ratio_rows


def _figure(panels: list[tuple[str, dict]], measured: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # a script, not a library function
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5))
    styles = {"decaying-lr": "-", "increasing-batch": "--"}
    colors = dict(zip(BANDWIDTHS, ("tab:red", "tab:blue", "tab:green"), strict=True))
    for ax, (title, proj) in zip(np.atleast_1d(axes), panels, strict=True):
        for (schedule, bw), times in proj.items():
            ax.plot(
                WORLDS, times, styles[schedule], color=colors[bw], label=f"{schedule}, {bw:g} Gb/s"
            )
        if measured:
            for (schedule, kind), points in measured.items():
                ws, ts = zip(*points, strict=True)
                marker = "o" if schedule == "decaying-lr" else "s"
                fill = "none" if kind == "wall" else "black"
                ax.plot(ws, ts, marker, color="black", mfc=fill, label=f"{schedule}, {kind} here")
            measured = {}  # on the first panel only
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("workers W")
        ax.set_ylabel("projected wall time of the run (s)")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every (W, schedule) ``--repeats`` times, interleaved; the raw numbers."""
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "mnist1d.npz"
        _data(data, args.samples)
        n_train = len(np.load(data)["y"])
        for rep in range(args.repeats):  # interleaved: W=1 and W=2 see the same load
            for world in (1, 2):
                for schedule in SCHEDULES:
                    out = Path(tmp) / f"{schedule}-w{world}-r{rep}"
                    run = _launch(world, schedule, out, args, data)
                    runs.append(run)
                    print(f"W={world} {schedule} rep {rep}: {run['wall']:.1f} s", flush=True)
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return {
        "command": command_line(),
        "machine": machine_line(),
        "uptime": [uptime_before, uptime_after],
        "n_train": n_train,
        "args": {k: v for k, v in vars(args).items() if isinstance(v, (int, float, str))},
        "runs": runs,
    }


def report(raw: dict[str, Any], scale: float) -> str:
    """The docs section (and the figure) from the raw numbers of :func:`measure`."""
    args = argparse.Namespace(**raw["args"])
    runs: dict[tuple[int, str], list[dict]] = {}
    for run in raw["runs"]:
        runs.setdefault((run["world"], run["schedule"]), []).append(run)
    a, b = _fit_compute([r for s in SCHEDULES for r in runs[(1, s)]])
    a_cpu, b_cpu = _fit_compute([r for s in SCHEDULES for r in runs[(1, s)]], column=3)
    points = [p for s in SCHEDULES for r in runs[(2, s)] for p in r["allreduce_by_size"]]
    alpha2, beta2 = _fit_allreduce(points)
    o = _fit_overlap([r for s in SCHEDULES for r in runs[(2, s)]], a, b)
    size = runs[(1, SCHEDULES[0])][0]["bucket_bytes"]
    params = runs[(1, SCHEDULES[0])][0]["params"]
    c2 = alpha2 + size / beta2

    rows, valid = [], []
    measured: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for world in (1, 2):
        for schedule in SCHEDULES:
            rs = runs[(world, schedule)]
            batches = [int(s[0]) for s in rs[0]["steps"]]
            wall = statistics.median(r["wall"] for r in rs)
            pred = predict(batches, world, a, b, o if world > 1 else 0.0, c2 if world > 1 else 0.0)
            valid.append(abs(pred - wall) / wall)
            cpu = statistics.median(r["cpu"] for r in rs)
            pred_cpu = predict(batches, world, a_cpu, b_cpu, 1.0, 0.0)  # compute only
            measured.setdefault((schedule, "CPU"), []).append((world, cpu))
            measured.setdefault((schedule, "wall"), []).append((world, wall))
            rows.append(
                [
                    world,
                    schedule,
                    len(batches),
                    statistics.median(r["allreduces"] for r in rs),
                    f"{wall:.1f}",
                    f"{cpu:.1f}",
                    f"{statistics.median(r['comm'] for r in rs):.2f}",
                    f"{pred:.1f} ({100 * (pred - wall) / wall:+.0f}%)",
                    f"{pred_cpu:.1f} ({100 * (pred_cpu - cpu) / cpu:+.0f}%)",
                    f"{100 * statistics.mean(r['test_acc'] for r in rs):.1f}",
                ]
            )
    med = {k: statistics.median(r["wall"] for r in v) for k, v in runs.items()}
    ratio = {w: med[(w, "decaying-lr")] / med[(w, "increasing-batch")] for w in (1, 2)}
    speedup = {s: med[(1, s)] / med[(2, s)] for s in SCHEDULES}

    batches_of = {s: [int(x[0]) for x in runs[(1, s)][0]["steps"]] for s in SCHEDULES}
    proj, best_rows, ratio_rows = project(batches_of, a_cpu, b_cpu, o, size)
    proj_k, best_k, ratio_k = project(batches_of, a_cpu, b_cpu * scale, o, size * scale)
    img = ROOT / "docs" / "img" / "ddp_batch_growth.png"
    _figure(
        [
            (f"this CNN ({params} weights), measured compute", proj),
            (
                f"a {scale:g}x larger model ({params * scale / 1e6:.1f}M weights, "
                f"{scale:g}x compute)",
                proj_k,
            ),
        ],
        measured,
        img,
    )
    caps = batches_of["increasing-batch"]
    header = (
        "W,schedule,updates,all-reduces,wall (s),CPU (s),comm (s),wall model (s),"
        "CPU model (s),test acc %"
    )
    measured_table = markdown_table(header.split(","), rows)
    best_header = ["Gb/s", "schedule", "stops scaling at W", "fastest W", "fastest (s)", "speed-up"]
    ratio_header = ["Gb/s", "W=1", "W=2", "W=8", "W=32", "W=128", "W=1024"]
    up0, up1 = raw["uptime"]
    return f"""## Measured: DDP on this machine, and the projection

Command: `{raw["command"]}`; {raw["machine"]}.
Load: before `{up0}`; after `{up1}` (2 cores shared with other
engineers' jobs: W = 2 competes with them for the second core).

MNIST-1D ({raw["n_train"]} training samples), the smith2018 CNN ({params} weights, one
DDP bucket of {size} bytes), SGD momentum {MOMENTUM}, {args.epochs} epochs, LR {LR} at
batch {args.batch_size}, milestones at 30/60/80% (x{GAMMA:g}); increasing-batch grows
{args.batch_size} -> {max(caps)} (cap {args.cap}) and decays the LR past it. Median of
{args.repeats} runs each, W = 1 and W = 2 interleaved run by run. "wall" is the
slowest rank's training loop, "CPU" rank 0's CPU time in it; "comm" is the sum over
all-reduces of the time from launch to completion (a DDP comm hook; it includes the
wait for the gloo thread to be scheduled on this loaded machine, even at W = 1).

{measured_table}

- Wall-time ratio decaying-lr / increasing-batch: **{ratio[1]:.2f}** at W = 1,
  **{ratio[2]:.2f}** at W = 2: the same epochs in {len(caps)} instead of
  {len(batches_of["decaying-lr"])} updates, hence as many fewer all-reduces.
- Speed-up from W = 1 to W = 2: decaying-lr {speedup["decaying-lr"]:.2f}x,
  increasing-batch {speedup["increasing-batch"]:.2f}x.

Cost model fitted: per update `a = {1e3 * a:.3f} ms`, per sample `b = {1e6 * b:.1f} us`
(least squares of wall time over every W = 1 update; from CPU time instead,
`a_cpu = {1e3 * a_cpu:.3f} ms`, `b_cpu = {1e6 * b_cpu:.1f} us`); all-reduce at W = 2
`alpha_2 = {1e6 * alpha2:.0f} us`, `beta_2 = {beta2 / 1e6:.0f} MB/s` (gloo over loopback,
{len(SIZES)} message sizes {SIZES[0]} B .. {SIZES[-1] // 2**20} MiB), so one bucket costs
`c = {1e3 * c2:.3f} ms`; overlap `o = {o:.2f}` (the share of the hook-timed
all-reduce hidden behind compute, fitted on the W = 2 updates). The "model" column
predicts each run's wall time from these numbers (wall-time fit); its largest error
is {100 * max(valid):.0f}%. "CPU model" predicts rank 0's CPU time from the CPU-time fit,
compute only (`a_cpu` per update, `b_cpu` per sample of the rank's share): at W = 2
the excess over it is the CPU that gloo's all-reduces cost on this machine.

Assumptions of the projection: compute per sample and per-update overhead as the
CPU time measured at W = 1, `a_cpu` and `b_cpu` (a dedicated core per worker: the
wall-time fit carries this machine's load); a worker's share is `ceil(B / W)`
samples, so workers beyond `B` idle; a ring all-reduce
`2 (W - 1) alpha + 2 (W - 1) / W * S / beta` with `alpha = {1e6 * ALPHA:g} us` per hop
and bandwidth `beta` as given; overlap `o` as fitted; no stragglers, no data-loading
bottleneck, the same updates as measured. "Stops scaling" is the first W whose
doubling saves less than 10%.

This CNN: the per-update overhead `a_cpu` (optimizer, loader, DDP bookkeeping) is
larger than the compute of a whole batch of {args.batch_size}, so neither schedule
gains much from workers; increasing-batch wins by doing fewer updates.

{markdown_table(best_header, best_rows)}

Projected wall-time ratio decaying-lr / increasing-batch:

{markdown_table(ratio_header, ratio_rows)}

A {scale:g}x larger model (hypothetical: `b_cpu` and the bucket x{scale:g}, `a_cpu` as
measured), where compute dominates as in the paper's setting: decaying-lr stops
scaling near its batch of {args.batch_size} (a worker cannot take less than one sample),
increasing-batch keeps scaling towards its largest batch, {max(caps)}.

{markdown_table(best_header, best_k)}

{markdown_table(ratio_header, ratio_k)}

![projection](img/ddp_batch_growth.png)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--schedule", choices=SCHEDULES, default="decaying-lr")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--samples", type=int, default=5000, help="MNIST-1D samples (80%% train)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cap", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1000.0, help="the larger model's factor")
    parser.add_argument("--raw", type=Path, default=Path(tempfile.gettempdir()) / "lrkit-ddp.json")
    parser.add_argument("--report-only", action="store_true", help="re-report --raw, no runs")
    parser.add_argument("--data", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if not args.report_only:
        args.raw.write_text(json.dumps(measure(args)))
    body = report(json.loads(args.raw.read_text()), args.scale)
    write_section("ddp_batch_growth", body, ROOT / "docs" / "batch_size.md")
    print(body)


if __name__ == "__main__":
    main()
