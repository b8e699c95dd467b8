//! A local anvil chain for tests: start, deploy, register and fund keepers, tear down on drop.
