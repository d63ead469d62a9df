enum KilnPassesPlaceholder {}
