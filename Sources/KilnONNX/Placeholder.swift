enum KilnONNXPlaceholder {}
