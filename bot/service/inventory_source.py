"""The current inventory, never an old one.

Every access (`current()`) compares the file's identity (inode, size, modification time) with the
one loaded and reloads when it changed; SIGHUP forces a reload (`reload()`). A file that became
invalid is *not* replaced by the last good one: `current()` raises ConfigError naming the file and
field, so no check runs and no access decision is made from a configuration that is gone.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from bot.errors import ConfigError, InventoryError
from bot.inventory import Inventory, load_inventory

log = logging.getLogger(__name__)


class InventorySource:
    def __init__(
        self,
        path: Path | None,
        simulated: Callable[[], Inventory] | None = None,
        validate: Callable[[Inventory, str], None] | None = None,
    ) -> None:
        """`validate(inventory, source)` checks what the file format cannot (module names against the
        knowledge) and raises InventoryError naming the file and field."""
        if path is None and simulated is None:
            raise ConfigError("no inventory: pass --inventory PATH or set CAMPAIGN_BOT_INVENTORY")
        self.path = path
        self._simulated = simulated
        self._validate = validate
        self._lock = threading.Lock()
        self._loaded: Inventory | None = None
        self._error: ConfigError | None = None
        self._identity: tuple[int, int, int] | None = None
        self._force = False
        self.reloads = 0

    @property
    def simulated(self) -> bool:
        return self.path is None

    def _stat(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def reload(self) -> None:
        """Re-read the file at the next access (SIGHUP). Called from a signal handler: it takes no lock (the
        main thread could hold it), a flag set is atomic."""
        self._force = True

    def current(self) -> Inventory:
        """The inventory as the file says now; raises ConfigError when the file is missing or invalid."""
        with self._lock:
            if self.path is None:
                if self._loaded is None:
                    assert self._simulated is not None
                    self._loaded = self._simulated()
                return self._loaded
            ident = self._stat()
            if ident != self._identity or self._force or (self._loaded is None and self._error is None):
                self._force = False
                self._identity = ident
                try:
                    loaded = load_inventory(self.path)
                    if self._validate is not None:
                        self._validate(loaded, str(self.path))
                    self._loaded, self._error = loaded, None
                except InventoryError as e:
                    self._loaded, self._error = None, e
                    if self.reloads:
                        # A reload that broke a running service: the log says so (the first load's
                        # error reaches the caller, who shows it once).
                        log.error("inventory %s is not usable: %s", self.path, e)
                self.reloads += 1
                if self.reloads > 1 and self._error is None:
                    log.info("inventory %s reloaded", self.path)
            if self._error is not None:
                raise self._error
            assert self._loaded is not None
            return self._loaded
