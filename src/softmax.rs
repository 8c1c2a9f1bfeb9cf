//! Row softmax through the dispatched kernels.
