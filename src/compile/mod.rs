//! Stage 3 of the pipeline: a checked script to what runs and ships. Pure: values in,
//! values out.

pub mod bundle;
pub mod forms;
