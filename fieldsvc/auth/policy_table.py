"""The README's permission table, written from the policy matrix so the two cannot differ.

`tests/access/test_policy_table.py` compares the table in README.md with `markdown_table()`;
after a change to the matrix, paste the output of
`python -c "from fieldsvc.auth.policy_table import markdown_table; print(markdown_table())"`.
"""

from __future__ import annotations

from fieldsvc.auth.policy import ADMIN, ANY, CREATE, DELETE, MATRIX, READ, RESOURCES, ROLES, UPDATE

LETTERS = ((READ, "R"), (CREATE, "C"), (UPDATE, "U"), (DELETE, "D"))


def cell(actions: frozenset[str]) -> str:
    """R/C/U/D for the plain actions, then the named ones: `RU + transition`."""
    if ANY in actions:
        return "all"
    letters = "".join(letter for action, letter in LETTERS if action in actions)
    named = sorted(actions - {action for action, _ in LETTERS})
    if named:
        return (letters + " + " if letters else "") + ", ".join(named)
    return letters or "–"


def markdown_table() -> str:
    roles = [role for role in ROLES if role != ADMIN]
    lines = ["| resource | " + " | ".join(roles) + " |",
             "|---|" + "---|" * len(roles)]
    for resource in RESOURCES:
        cells = [cell(MATRIX[role].get(resource, frozenset())) for role in roles]
        lines.append(f"| `{resource}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
