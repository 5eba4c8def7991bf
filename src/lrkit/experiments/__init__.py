"""The learning-rate lab: tasks, strategies, a resumable trainer and comparisons.

Importing this package is cheap: torch, matplotlib and the datasets are imported
by the functions that need them.

Example:
    >>> from lrkit.experiments import StrategyContext, get_strategy, get_task, train
    >>> task = get_task("digits", num_samples=100)
    >>> result = train(task, get_strategy("adam", StrategyContext(epochs=1)), epochs=1, seed=0)
    >>> len(result.rows)
    1
"""

from __future__ import annotations

from ._compare import (
    LR_FINDERS,
    ComparePlan,
    CompareResult,
    compare,
    plan_compare,
    register_lr_finder,
    registered_lr_finders,
    report_compare,
    run_compare,
    write_config,
)
from ._controllers import (
    Control,
    ControllerDriver,
    UpdateReport,
    controller_driver,
    register_controller,
)
from ._executors import (
    Failure,
    InlineExecutor,
    Outcome,
    ProcessExecutor,
    RayExecutor,
    ResultStream,
    make_executor,
)
from ._metrics import METRICS, Metric
from ._optimizers import (
    OPTIMIZERS,
    OptimizerEntry,
    make_optimizer,
    optimizer_entry,
    register_optimizer,
    registered_optimizers,
)
from ._plots import plot_curves, plot_strategy_schedules, write_plots
from ._registry import Registry
from ._reproductions import (
    REPRODUCTIONS,
    get_reproduction,
    register_reproduction,
    registered_reproductions,
)
from ._runfolder import (
    CSV_COLUMNS,
    SUMMARY_KEYS,
    format_table,
    prepare_run_folder,
    ranked,
    read_metrics,
    summarize,
    what_next,
    write_json,
    write_metrics,
    write_report,
    write_text,
)
from ._stats import mean_ci, paired_difference, t_quantile_975
from ._strategies import (
    SEED_STRATEGIES,
    STRATEGIES,
    Strategy,
    StrategyContext,
    get_strategy,
    load_strategies,
    register_strategy,
    registered_strategies,
)
from ._tasks import (
    TASKS,
    Task,
    cache_dir,
    get_task,
    hold_out,
    register_task,
    registered_tasks,
    with_label_noise,
)
from ._trainer import METRIC_COLUMNS, RunResult, checkpoint_path, train
from ._trial import Executor, TaskSpec, Trial, TrialResult, run_trial, run_trials

__all__ = [
    "CSV_COLUMNS",
    "LR_FINDERS",
    "METRICS",
    "METRIC_COLUMNS",
    "OPTIMIZERS",
    "REPRODUCTIONS",
    "SEED_STRATEGIES",
    "STRATEGIES",
    "SUMMARY_KEYS",
    "TASKS",
    "ComparePlan",
    "CompareResult",
    "Control",
    "ControllerDriver",
    "Executor",
    "Failure",
    "InlineExecutor",
    "Metric",
    "OptimizerEntry",
    "Outcome",
    "ProcessExecutor",
    "RayExecutor",
    "Registry",
    "ResultStream",
    "RunResult",
    "Strategy",
    "StrategyContext",
    "Task",
    "TaskSpec",
    "Trial",
    "TrialResult",
    "UpdateReport",
    "cache_dir",
    "checkpoint_path",
    "compare",
    "controller_driver",
    "format_table",
    "get_reproduction",
    "get_strategy",
    "get_task",
    "hold_out",
    "load_strategies",
    "make_executor",
    "make_optimizer",
    "mean_ci",
    "optimizer_entry",
    "paired_difference",
    "plan_compare",
    "plot_curves",
    "plot_strategy_schedules",
    "prepare_run_folder",
    "ranked",
    "read_metrics",
    "register_controller",
    "register_lr_finder",
    "register_optimizer",
    "register_reproduction",
    "register_strategy",
    "register_task",
    "registered_lr_finders",
    "registered_optimizers",
    "registered_reproductions",
    "registered_strategies",
    "registered_tasks",
    "report_compare",
    "run_compare",
    "run_trial",
    "run_trials",
    "summarize",
    "t_quantile_975",
    "train",
    "what_next",
    "with_label_noise",
    "write_config",
    "write_json",
    "write_metrics",
    "write_plots",
    "write_report",
    "write_text",
]
