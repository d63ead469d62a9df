"""Writes the .npy fixtures for NpyTests (run with the project venv's python)."""
import numpy as np

np.save("f32_2x3.npy", np.arange(6, dtype=np.float32).reshape(2, 3) / 4)
np.save("i32_big_endian.npy", np.array([1, -2, 300000], dtype=">i4"))
np.save("bool_4.npy", np.array([True, False, False, True]))
np.save("i64_scalar.npy", np.array(-7, dtype=np.int64))
np.save("f16_3.npy", np.array([0.5, -1.25, 65504], dtype=np.float16))
np.save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save("object.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
data = open("f32_2x3.npy", "rb").read()
open("truncated.npy", "wb").write(data[:-5])
