"""A simulated Campaign fleet: install trees with a fake `nlserver`, config files, logs and health
answers, so the bot can be tried (and tested) without real servers. Never used silently: every
answer about these hosts says they are simulated."""

from bot.simulator.fleet import HostScenario, build_host, build_simulated_inventory, default_scenarios

__all__ = ["HostScenario", "build_host", "build_simulated_inventory", "default_scenarios"]
