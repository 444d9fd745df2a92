"""EventBridge's pattern matching, for the forms the stack's rules use, so tests can feed a rule real events."""

from __future__ import annotations

from typing import Any


def matches(pattern: Any, value: Any) -> bool:
    """Whether `value` (an event, or part of one) matches `pattern`: value lists, anything-but, prefix, $or, nesting."""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return isinstance(value, list) and any(matches(pattern, item) for item in value)
        for key, sub in pattern.items():
            if key == "$or":
                if not any(matches(clause, value) for clause in sub):
                    return False
            elif key not in value or not matches(sub, value[key]):
                return False
        return True
    values = value if isinstance(value, list) else [value]
    for allowed in pattern:
        if isinstance(allowed, dict) and "anything-but" in allowed:
            if any(v != allowed["anything-but"] for v in values):
                return True
        elif isinstance(allowed, dict) and "prefix" in allowed:
            if any(isinstance(v, str) and v.startswith(allowed["prefix"]) for v in values):
                return True
        elif allowed in values:
            return True
    return False
