"""Unit tests for kilnutil.compare and kilnutil.sanitize."""

from __future__ import annotations

import numpy as np

import kilnutil


def test_sanitize():
    assert kilnutil.sanitize("/fc1/Gemm_output_0") == "_fc1_Gemm_output_0"
    assert kilnutil.sanitize("input.1:0 x") == "input.1_0_x"
    assert kilnutil.sanitize("a-b_c.d") == "a-b_c.d"


def test_compare_within_tolerance():
    e = np.array([1.0, -2.0, 0.0], np.float32)
    r = kilnutil.compare(e + np.float32(1e-5), e, rtol=1e-4, atol=1e-5)
    assert r.ok and r.max_abs > 0
    assert not kilnutil.compare(e + np.float32(1e-3), e, rtol=1e-4, atol=1e-5)


def test_compare_nan_inf():
    e = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    assert kilnutil.compare(e.copy(), e).ok
    assert not kilnutil.compare(np.array([0, np.inf, -np.inf, 1], np.float32), e).ok
    assert not kilnutil.compare(np.array([np.nan, -np.inf, -np.inf, 1], np.float32), e).ok
    assert not kilnutil.compare(np.array([np.nan, np.inf, -np.inf, np.nan], np.float32), e).ok


def test_compare_exact_for_integers_and_bools():
    e = np.array([1, 2, 3], np.int64)
    assert kilnutil.compare(e.copy(), e, rtol=1, atol=1).ok
    r = kilnutil.compare(np.array([1, 2, 4], np.int64), e, rtol=1, atol=1)
    assert not r.ok and r.max_abs == 1.0
    assert not kilnutil.compare(np.array([True, False]), np.array([True, True])).ok


def test_compare_shape_and_dtype_must_match():
    e = np.zeros((2, 3), np.float32)
    assert not kilnutil.compare(np.zeros((3, 2), np.float32), e).ok
    assert not kilnutil.compare(np.zeros((2, 3), np.float64), e).ok
