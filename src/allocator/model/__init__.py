"""The optimisation problem: claims and limits as constraint rows, built once for every engine."""
