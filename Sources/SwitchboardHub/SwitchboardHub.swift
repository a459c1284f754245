// The pub/sub hub arrives with its own issue: topics, the sharded registry
// and fan-out planning. It reaches connections only through a delivery
// protocol, so this module never imports the I/O core.
