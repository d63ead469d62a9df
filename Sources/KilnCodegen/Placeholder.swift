enum KilnCodegenPlaceholder {}
