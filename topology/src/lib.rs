//! topology.json model and validation, brick sizing and placement. Pure logic, no I/O.
