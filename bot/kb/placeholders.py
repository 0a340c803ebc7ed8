"""The one place where placeholders are filled: step templates, their texts and the host steps.

Knowledge steps are fixed templates. Commands write `{instance}`, `{module}` and `{host}` (the only
brace placeholders; the loader refuses others); texts written for people say `<instance>` and
`<nl_home>`; the host steps name `<core file>`. Paths relative to the install root (`var/...`,
`conf/...`) get the host's install root (or its `var` folder, when `XTK_VAR_DIR` moves it). What the
bot does not know stays a visible `<placeholder>` for the reader to fill.
"""

from __future__ import annotations

import re
from typing import Literal

_RELATIVE = re.compile(r"(?<![\w/.<>-])(var|conf)/")

INSTANCE_PLACEHOLDER = "<instance>"
NL_HOME_PLACEHOLDER = "<nl_home>"
CORE_FILE_PLACEHOLDER = "<core file>"
HOST_PLACEHOLDER = "<host>"

Paths = Literal["always", "known", "never"]


def fill(
    template: str,
    *,
    module: str,
    instance: str | None = None,
    host: str | None = None,
    nl_home: str | None = None,
    var_dir: str | None = None,
    core_file: str | None = None,
    paths: Paths = "always",
) -> str:
    """Fill a command or a text. Unknown values stay visible as `<instance>`, `<nl_home>`, `<host>`,
    `<core file>`.

    Args:
        template: the knowledge base's command or text (or a host step's).
        module: the module's canonical name.
        instance: the Campaign instance, or None when not known (server-wide modules, several instances).
        host: the host the step is for.
        nl_home: the host's install root.
        var_dir: the host's data folder when `XTK_VAR_DIR` moves it away from `<nl_home>/var`.
        core_file: the newest core file found on the host (the `gdb` step).
        paths: where relative `var/` and `conf/` paths are anchored: "always" (commands: on the
            install root, `<nl_home>/var/...` when it is not known), "known" (texts: only for a
            known install root, else they stay relative as Adobe writes them), or "never".
    """
    out = template.replace("{instance}", instance or INSTANCE_PLACEHOLDER).replace("{module}", module)
    out = out.replace("{host}", host or HOST_PLACEHOLDER)
    if instance:
        out = out.replace(INSTANCE_PLACEHOLDER, instance)
    root = nl_home.rstrip("/") if nl_home else None
    if root:
        out = out.replace(NL_HOME_PLACEHOLDER, root)
    if core_file:
        out = out.replace(CORE_FILE_PLACEHOLDER, core_file)
    if paths == "never" or (paths == "known" and not root):
        return out

    def anchor(m: re.Match[str]) -> str:
        if m.group(1) == "var" and var_dir:
            return var_dir.rstrip("/") + "/"
        return f"{root or NL_HOME_PLACEHOLDER}/{m.group(1)}/"

    return _RELATIVE.sub(anchor, out)
