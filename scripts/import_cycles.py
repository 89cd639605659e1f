"""Fail on any import cycle among the modules of ``centralino`` (DESIGN.md §3).

Theory of operation. grimp (installed with import-linter) builds the import
graph of every module under ``src/centralino``; Tarjan's algorithm finds its
strongly connected components, and every component of more than one module
(or a module importing itself) is a cycle. Each is printed with one concrete
loop (the shortest chain back to its first module) so it can be cut.

Imports under ``if TYPE_CHECKING:`` count: a cycle that only type checkers
follow still ties two modules together (neither can be understood, moved or
split without the other), and it is how the ``sip.message`` <->
``sip.validation`` cycle hid. ``--skip-type-checking`` leaves them out, to
see which cycles would also bite at run time.

    .venv/bin/python scripts/import_cycles.py [--skip-type-checking]

Exit status: 0 without cycles, 1 with (each listed), as ``scripts/check`` needs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping

import grimp

PACKAGE = "centralino"


def strongly_connected(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of ``graph`` (Tarjan, iterative).

    Args:
        graph: each node's successors (nodes missing as keys have none).

    Returns:
        Every component, each sorted, in no particular order.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(graph.get(successor, ()))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The components of ``graph`` that contain a cycle, sorted."""
    found = [
        component
        for component in strongly_connected(graph)
        if len(component) > 1 or component[0] in set(graph.get(component[0], ()))
    ]
    return sorted(found)


def import_graph(skip_type_checking: bool) -> dict[str, set[str]]:
    """Module -> the modules of ``centralino`` it imports."""
    built = grimp.build_graph(PACKAGE, exclude_type_checking_imports=skip_type_checking)
    return {
        module: set(built.find_modules_directly_imported_by(module)) for module in built.modules
    }


def main(argv: list[str] | None = None) -> int:
    """Print every import cycle; the exit status says whether there was one."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skip-type-checking", action="store_true")
    args = parser.parse_args(argv)
    graph = import_graph(args.skip_type_checking)
    found = cycles(graph)
    if not found:
        print(f"import cycles: none among {len(graph)} modules")
        return 0
    built = grimp.build_graph(PACKAGE, exclude_type_checking_imports=args.skip_type_checking)
    for component in found:
        first, members = component[0], set(component)
        loop = next(
            (
                chain
                for successor in sorted(graph[first] & members)
                if (chain := built.find_shortest_chain(successor, first))
            ),
            (first,),
        )
        print(f"import cycle of {len(component)} modules: {', '.join(component)}")
        print(f"  e.g. {first} -> {' -> '.join(loop)}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
