"""Entropy sources: the secure default, the named insecure one, and rng= resolution."""

from __future__ import annotations

import os
import random as py_random
import threading
import warnings

import numpy as np
import pytest

import loopkit_privacy as lp
from loopkit_privacy import random as lr


def _insecure(seed: int) -> lr.InsecureSeededRandom:
    with pytest.warns(
        lp.InsecureRandomnessWarning,
        match=rf"InsecureSeededRandom\(seed={seed}\) is reproducible and NOT",
    ):
        return lr.InsecureSeededRandom(seed)


class TestSecureRandom:
    def test_words_dtype_and_shape(self):
        rng = lr.SecureRandom()
        for n in (0, 1, 7, 1000):
            w = rng.words(n)
            assert w.dtype == np.uint64
            assert w.shape == (n,)

    def test_words_are_unique_and_use_all_bits(self):
        w = lr.SecureRandom().words(100_000)
        # 1e5 uniform 64-bit words collide with probability ~3e-10.
        assert np.unique(w).size == w.size
        # Every bit position is set in some word and clear in another.
        bits = np.unpackbits(w.view(np.uint8)).reshape(-1, 64)
        freq = bits.mean(axis=0)
        assert ((freq > 0.49) & (freq < 0.51)).all(), freq

    def test_successive_calls_differ(self):
        rng = lr.SecureRandom()
        assert not np.array_equal(rng.words(4), rng.words(4))

    def test_instances_are_independent(self):
        assert not np.array_equal(
            lr.SecureRandom().words(4), lr.SecureRandom().words(4)
        )

    def test_large_request_spans_chunks(self):
        rng = lr.SecureRandom()
        n = (lr._CHUNK_BYTES // 8) * 2 + 3
        w = rng.words(n)
        assert w.shape == (n,)
        # Chunks continue one keystream: no chunk repeats the previous one.
        half = lr._CHUNK_BYTES // 8
        assert not np.array_equal(w[:half], w[half : 2 * half])
        assert np.unique(w).size == n

    def test_negative_count_refused(self):
        with pytest.raises(
            lp.InvalidParameterError, match=r"`n` must be an integer >= 0, got -1"
        ):
            lr.SecureRandom().words(-1)

    def test_flags(self):
        rng = lr.SecureRandom()
        assert rng.insecure is False
        assert isinstance(rng, lr.RandomSource)
        assert repr(rng) == "SecureRandom()"

    def test_rekey_after_limit(self, monkeypatch):
        rng = lr.SecureRandom()
        before = rng._encryptor
        monkeypatch.setattr(lr, "_REKEY_BYTES", 64)
        rng.words(8)  # 64 bytes: fits exactly
        assert rng._encryptor is before
        rng.words(1)  # one more word would pass the limit
        assert rng._encryptor is not before
        assert rng._since_key == 8

    def test_thread_safety_no_duplicate_words(self):
        rng = lr.SecureRandom()
        n_threads, per_call, calls = 8, 2_000, 25
        results: list[np.ndarray] = []
        lock = threading.Lock()
        barrier = threading.Barrier(n_threads)

        def work():
            barrier.wait()
            mine = [rng.words(per_call) for _ in range(calls)]
            with lock:
                results.extend(mine)

        threads = [threading.Thread(target=work) for _ in range(n_threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        allw = np.concatenate(results)
        assert allw.size == n_threads * per_call * calls
        # 4e5 uniform words collide with probability ~4e-9; a shared or
        # torn keystream would repeat whole blocks.
        assert np.unique(allw).size == allw.size

    @pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
    def test_fork_safety(self):
        rng = lr.SecureRandom()
        default = lr.default_rng()
        rng.words(3)
        default.words(3)
        r, w = os.pipe()
        with warnings.catch_warnings():
            # Python >= 3.12 warns about fork() in a multi-threaded process.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # child: report its next words and leave at once
            try:
                os.close(r)
                payload = np.concatenate([rng.words(16), default.words(16)]).tobytes()
                os.write(w, payload)
            finally:
                os._exit(0)
        os.close(w)
        chunks = []
        while chunk := os.read(r, 1 << 16):
            chunks.append(chunk)
        os.close(r)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        child = np.frombuffer(b"".join(chunks), dtype=np.uint64)
        assert child.size == 32
        parent = np.concatenate([rng.words(16), default.words(16)])
        assert not np.isin(child, parent).any(), (
            "a forked child repeated its parent's stream"
        )
        assert np.unique(child).size == 32


class TestInsecureSeededRandom:
    def test_reproducible(self):
        a, b = _insecure(7), _insecure(7)
        assert np.array_equal(a.words(100), b.words(100))
        assert np.array_equal(a.words(5), b.words(5))

    def test_split_calls_form_one_stream(self):
        a, b = _insecure(3), _insecure(3)
        assert np.array_equal(
            np.concatenate([a.words(3), a.words(0), a.words(4)]), b.words(7)
        )

    def test_seeds_differ(self):
        assert not np.array_equal(_insecure(1).words(4), _insecure(2).words(4))

    def test_flags_and_repr(self):
        rng = _insecure(11)
        assert rng.insecure is True
        assert rng.seed == 11
        assert repr(rng) == "InsecureSeededRandom(seed=11)"
        assert rng.words(3).dtype == np.uint64

    def test_short_spelling(self):
        with pytest.warns(lp.InsecureRandomnessWarning):
            rng = lr.insecure(seed=5)
        assert isinstance(rng, lr.InsecureSeededRandom)
        assert np.array_equal(rng.words(4), _insecure(5).words(4))

    def test_numpy_integer_seed(self):
        assert np.array_equal(_insecure(np.int64(9)).words(2), _insecure(9).words(2))

    @pytest.mark.parametrize("bad", [-1, 1.5, "7", None, True])
    def test_bad_seed(self, bad):
        with pytest.raises(
            lp.InvalidParameterError, match=r"`seed` must be a non-negative integer"
        ):
            lr.InsecureSeededRandom(bad)

    @pytest.mark.parametrize("value", ["1", "yes"])
    def test_forbidden_by_environment(self, monkeypatch, value):
        monkeypatch.setenv(lr.FORBID_INSECURE_ENV, value)
        assert lr.FORBID_INSECURE_ENV == "LOOPKIT_PRIVACY_FORBID_INSECURE"
        with pytest.raises(
            lp.InsecureRandomnessError,
            match=r"insecure seeded randomness is forbidden in this process",
        ):
            lr.InsecureSeededRandom(1)
        with pytest.raises(
            lp.InsecureRandomnessError,
            match=r"insecure seeded randomness is forbidden in this process",
        ):
            lr.insecure(seed=1)

    @pytest.mark.parametrize("value", ["", "0"])
    def test_not_forbidden_when_unset_or_zero(self, monkeypatch, value):
        monkeypatch.setenv(lr.FORBID_INSECURE_ENV, value)
        assert _insecure(1).insecure


class TestResolveRng:
    def test_none_is_the_secure_default(self):
        src = lr.resolve_rng(None)
        assert isinstance(src, lr.SecureRandom)
        assert src is lr.default_rng()
        assert src.insecure is False

    def test_sources_pass_through(self):
        sec = lr.SecureRandom()
        ins = _insecure(1)
        assert lr.resolve_rng(sec) is sec
        assert lr.resolve_rng(ins) is ins

    @pytest.mark.parametrize(
        "bad",
        [
            42,
            np.int64(42),
            np.random.default_rng(0),
            py_random.Random(0),
            np.random.RandomState(0),
            np.random.PCG64(0),
            "secure",
        ],
        ids=[
            "int",
            "np-int",
            "Generator",
            "random.Random",
            "RandomState",
            "BitGenerator",
            "str",
        ],
    )
    def test_insecure_sources_refused_unless_named(self, bad):
        with pytest.raises(
            lp.InsecureRandomnessError,
            match=r"`rng` must be None \(secure default\), lp\.random\.SecureRandom\(\) or lp\.random\.InsecureSeededRandom\(seed\)",
        ):
            lr.resolve_rng(bad)

    def test_refused_everywhere_rng_is_accepted(self):
        gen = np.random.default_rng(0)
        with pytest.raises(
            lp.InsecureRandomnessError, match=r"`rng` must be None .* of type Generator"
        ):
            lp.add_noise(1, sensitivity=1, epsilon=1.0, rng=gen)
        with pytest.raises(
            lp.InsecureRandomnessError, match=r"`rng` must be None .* got 0 of type int"
        ):
            lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0).release(1.0, rng=0)
        with pytest.raises(
            lp.InsecureRandomnessError, match=r"`rng` must be None .* got 7 of type int"
        ):
            lp.noise.sample_discrete_laplace(1.0, rng=7)
        with pytest.raises(
            lp.InsecureRandomnessError, match=r"`rng` must be None .* of type Random"
        ):
            lp.report_noisy_max(
                [1.0, 2.0], sensitivity=1.0, epsilon=1.0, rng=py_random.Random(1)
            )


class TestInsecureFlagOnResults:
    def test_release_flags(self):
        mech = lp.LaplaceMechanism(sensitivity=1.0, epsilon=1.0)
        assert mech.release(1.0, rng=_insecure(1)).insecure is True
        assert mech.release(1.0).insecure is False
        assert mech.release(1.0, rng=lr.SecureRandom()).insecure is False

    def test_integer_release_flags(self):
        mech = lp.GeometricMechanism(sensitivity=1, epsilon=1.0)
        assert mech.release(3, rng=_insecure(1)).insecure is True
        assert mech.release(3).insecure is False

    def test_selection_flags(self):
        em = lp.ExponentialMechanism(sensitivity=1.0, epsilon=1.0)
        assert em.select([1.0, 2.0], rng=_insecure(1)).insecure is True
        assert em.select([1.0, 2.0]).insecure is False


def test_default_rng_is_a_singleton():
    assert lr.default_rng() is lr.default_rng()
