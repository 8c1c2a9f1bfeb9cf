//! Matrix multiplication through the dispatched kernels.
