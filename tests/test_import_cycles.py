"""The import-cycle check of scripts/check finds cycles and only cycles."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "import_cycles.py"
_spec = importlib.util.spec_from_file_location("import_cycles", _SCRIPT)
assert _spec is not None
assert _spec.loader is not None
import_cycles = importlib.util.module_from_spec(_spec)
sys.modules["import_cycles"] = import_cycles
_spec.loader.exec_module(import_cycles)


def test_a_dag_has_no_cycle() -> None:
    graph = {"a": {"b", "c"}, "b": {"c"}, "c": set()}
    assert import_cycles.cycles(graph) == []


def test_cycles_are_found_with_every_member() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"f"}}
    assert import_cycles.cycles(graph) == [["a", "b", "c"], ["d", "e"], ["f"]]


def test_a_long_chain_does_not_recurse() -> None:
    graph = {str(i): {str(i + 1)} for i in range(5000)}
    graph["5000"] = {"0"}
    assert len(import_cycles.cycles(graph)[0]) == 5001


def test_the_sip_core_has_no_cycle() -> None:
    graph = import_cycles.import_graph(skip_type_checking=False)
    inside = [c for c in import_cycles.cycles(graph) if any(".sip." in m for m in c)]
    assert inside == []
