"""The one place where step templates get their placeholders filled.

Knowledge steps are fixed templates: `{instance}`, `{module}` and `{host}` are the only
placeholders (the loader refuses others), and paths relative to the install root (`var/...`,
`conf/...`) get the host's install root (or `var` folder) when it is known.
"""

from __future__ import annotations

import re

_RELATIVE = re.compile(r"(?<![\w/.<>-])(var|conf)/")

INSTANCE_PLACEHOLDER = "<instance>"
NL_HOME_PLACEHOLDER = "<nl_home>"


def fill(
    template: str,
    *,
    module: str,
    instance: str | None = None,
    host: str | None = None,
    nl_home: str | None = None,
    var_dir: str | None = None,
) -> str:
    """Fill a step template. Unknown values stay visible as `<instance>`, `<nl_home>`, `<host>`.

    Args:
        template: the knowledge base's command or text.
        module: the module's canonical name.
        instance: the Campaign instance, or None when not known (server-wide modules, several instances).
        host: the host the step is for.
        nl_home: the host's install root; relative `var/` and `conf/` paths are anchored there.
        var_dir: the host's data folder when `XTK_VAR_DIR` moves it away from `<nl_home>/var`.
    """
    out = template.replace("{instance}", instance or INSTANCE_PLACEHOLDER).replace("{module}", module)
    out = out.replace("{host}", host or "<host>")
    root = nl_home.rstrip("/") if nl_home else NL_HOME_PLACEHOLDER

    def anchor(m: re.Match[str]) -> str:
        if m.group(1) == "var" and var_dir:
            return var_dir.rstrip("/") + "/"
        return f"{root}/{m.group(1)}/"

    return _RELATIVE.sub(anchor, out)
