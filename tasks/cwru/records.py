"""The CWRU records: the manifest of the .mat files, their dataset, the class names, reading one record.

``load_signal`` reads one record's drive-end signal as z-scored float32 at 12 kHz (the 48 kHz
normal record decimated by 4, scipy's order-8 Chebyshev I, zero phase), or the 48 kHz record
as-is; ``n_windows`` is how many windows a record of a given length yields.
"""
from __future__ import annotations

import functools
from typing import Any

from arena.datasets import DataFile, Dataset, register

SOURCE = "https://engineering.case.edu/sites/default/files/{no}.mat"

# file, CWRU no., class, fault type, load hp, sampling Hz, DE variable, samples, sha256
FILES: tuple[tuple[str, int, str, str, int, int, str, int, str], ...] = (
    ("normal_0hp_097.mat", 97, "normal", "normal", 0, 48000, "X097_DE_time", 243938,
     "16bf48babcf1c7ac224bc1a81cd9eafdb27e42d5cf559761907e067e8eeadf3c"),
    ("12k_DE_B007_0hp_118.mat", 118, "B007", "ball", 0, 12000, "X118_DE_time", 122571,
     "b00628f8dd8d1d930af77fa465d1e5cdb385fe259489053f91f3680bda7f640e"),
    ("12k_DE_B014_0hp_185.mat", 185, "B014", "ball", 0, 12000, "X185_DE_time", 121846,
     "5bea2c60f177215ba3ec4ae287faf745d7e14aed1a12efe9e37b27c27044bafc"),
    ("12k_DE_B021_0hp_222.mat", 222, "B021", "ball", 0, 12000, "X222_DE_time", 121991,
     "fcc0ee740fa123b1f4683f555458891719efb2857afd9fdee63e8fde0ed14469"),
    ("12k_DE_IR007_0hp_105.mat", 105, "IR007", "inner_race", 0, 12000, "X105_DE_time", 121265,
     "f80b0ea04fd06b372a0eaec7c056543ea37e4bb4727a5b173d2a5bacd2aa9cab"),
    ("12k_DE_IR014_0hp_169.mat", 169, "IR014", "inner_race", 0, 12000, "X169_DE_time", 121846,
     "f5448673725c4ea2735fe7d3fe4b16ad82b217eac6b62c4bf351c4549b0a5229"),
    ("12k_DE_IR021_0hp_209.mat", 209, "IR021", "inner_race", 0, 12000, "X209_DE_time", 122136,
     "9f723d6d9d2eba714c6dc50f99321dffa73d8b1e4d3605675b2c2251511eff80"),
    ("12k_DE_OR007at6_0hp_130.mat", 130, "OR007@6", "outer_race_6oclock", 0, 12000, "X130_DE_time", 121991,
     "35a095307d0971477049b343a1b5981dde465a58fb7f233ad89b035068c1717d"),
    ("12k_DE_OR014at6_0hp_197.mat", 197, "OR014@6", "outer_race_6oclock", 0, 12000, "X197_DE_time", 121846,
     "fa571b47cd942f9514a920b403fb7c053cd442bb2963a360a96d0f61432f03e9"),
    ("12k_DE_OR021at6_0hp_234.mat", 234, "OR021@6", "outer_race_6oclock", 0, 12000, "X234_DE_time", 122426,
     "ebcbdb96612e8085bbdbf81f0e5e8e8a8d1a693d1ec559c4894f7792771aa9b2"),
    ("12k_DE_B007_1hp_119.mat", 119, "B007", "ball", 1, 12000, "X119_DE_time", 121410,
     "bc72d9df7668219e004a0f711232b23ec0aed393eb9bd8f9f5483426f6b51330"),
    ("12k_DE_B014_1hp_186.mat", 186, "B014", "ball", 1, 12000, "X186_DE_time", 122136,
     "1b3b6f3ad38e891feaa8026fe957b34f62f9082785089cc74f6878acdfe88ec5"),
    ("12k_DE_B021_1hp_223.mat", 223, "B021", "ball", 1, 12000, "X223_DE_time", 121701,
     "7287410fd2217e3b332c5ab4732a68963be046d7d17bd40efa41cabe6a0514e5"),
    ("12k_DE_IR007_1hp_106.mat", 106, "IR007", "inner_race", 1, 12000, "X106_DE_time", 121991,
     "e5cec7cdd138e6cd1deb9ed8634e5aaa9bc1bd7094ddc075bff606580eb6e883"),
    ("12k_DE_IR014_1hp_170.mat", 170, "IR014", "inner_race", 1, 12000, "X170_DE_time", 121846,
     "bcb73a5208b67265468232a2e342f53719850901671d0ee28494f3af97621f46"),
    ("12k_DE_IR021_1hp_210.mat", 210, "IR021", "inner_race", 1, 12000, "X210_DE_time", 121556,
     "596692397e77e129a00f7b7a61c4c3ffd6c7a59979b89039e7f70a7431cce1c7"),
    ("12k_DE_OR007at6_1hp_131.mat", 131, "OR007@6", "outer_race_6oclock", 1, 12000, "X131_DE_time", 122426,
     "7883f7b83beadc54b2f301767f9145ce07055707182fb0278fdf0a6bb53ce3cb"),
    ("12k_DE_OR014at6_1hp_198.mat", 198, "OR014@6", "outer_race_6oclock", 1, 12000, "X198_DE_time", 122136,
     "dbd58e4585ca8f8332c708b15936987ec0990ca701359fd2483dae2719df5b49"),
    ("12k_DE_OR021at6_1hp_235.mat", 235, "OR021@6", "outer_race_6oclock", 1, 12000, "X235_DE_time", 121991,
     "667e4bf1f213f92d10dca71d494ad002d8fd22bfd8004b31a4c71ccf0d764b66"),
    ("12k_DE_B007_2hp_120.mat", 120, "B007", "ball", 2, 12000, "X120_DE_time", 121556,
     "e0b7a584c49af52335ff0904a97d4afcf02d045625c582de63a7c85ce10b489c"),
    ("12k_DE_B014_2hp_187.mat", 187, "B014", "ball", 2, 12000, "X187_DE_time", 121991,
     "0f1338cce89beb5c8d8e5e154579bc576354e7c7d1617ebd1759662c6f3100b2"),
    ("12k_DE_B021_2hp_224.mat", 224, "B021", "ball", 2, 12000, "X224_DE_time", 122136,
     "8a16894c2ff4d6bcdb9f4c345c0d5f13737b3bd6d15015d6b566c86e7a3ee7b7"),
    ("12k_DE_IR007_2hp_107.mat", 107, "IR007", "inner_race", 2, 12000, "X107_DE_time", 122136,
     "111ba8996a115684661a13c913bd74d8029a59294492f88aec7b03e175fdd388"),
    ("12k_DE_IR014_2hp_171.mat", 171, "IR014", "inner_race", 2, 12000, "X171_DE_time", 121846,
     "63d0fdc1a68e64610ddfaf56a9c224d6137ab7b5c0d318eea1d542b9e5ffc029"),
    ("12k_DE_IR021_2hp_211.mat", 211, "IR021", "inner_race", 2, 12000, "X211_DE_time", 121846,
     "8296a02ee489c2d16cbd9fc278ca2e29b22475cec70ebe840558c78b6b743dc1"),
    ("12k_DE_OR007at6_2hp_132.mat", 132, "OR007@6", "outer_race_6oclock", 2, 12000, "X132_DE_time", 121410,
     "17a69ed5d2270b42532e678e35bbe2fa04a2cc413cf2bf9e88c7692de8662d18"),
    ("12k_DE_OR014at6_2hp_199.mat", 199, "OR014@6", "outer_race_6oclock", 2, 12000, "X199_DE_time", 121846,
     "ca4e6407fdb68845a6973da6028477911a62d018580063749fe956441be95cf2"),
    ("12k_DE_OR021at6_2hp_236.mat", 236, "OR021@6", "outer_race_6oclock", 2, 12000, "X236_DE_time", 122281,
     "c411d6d9826cba8073430555dc833e05fcbe4c38535f3eb7f03c525ea6797589"),
    ("12k_DE_B007_3hp_121.mat", 121, "B007", "ball", 3, 12000, "X121_DE_time", 121556,
     "52f686e984ba8e9b04a047a57416271cdb322cee57ee105dce58926a24b966cb"),
    ("12k_DE_B014_3hp_188.mat", 188, "B014", "ball", 3, 12000, "X188_DE_time", 122136,
     "1981614324d653c2522bea68fd4fd87e337495b117d12596db67abd1e10e7443"),
    ("12k_DE_B021_3hp_225.mat", 225, "B021", "ball", 3, 12000, "X225_DE_time", 122136,
     "ece92fa141af03473fdfca80d00d9112472a20340224514e79979c6ddc97a6cf"),
    ("12k_DE_IR007_3hp_108.mat", 108, "IR007", "inner_race", 3, 12000, "X108_DE_time", 122917,
     "d415f0e65128bfa0b118c2051c988fb0dc6ce3e4c8aa45fdc5ad1d0967462e7d"),
    ("12k_DE_IR014_3hp_172.mat", 172, "IR014", "inner_race", 3, 12000, "X172_DE_time", 121701,
     "f75170ceef70d5da475671de0d2e52a0acd9b3883ad422b6deaf2907d888ba24"),
    ("12k_DE_IR021_3hp_212.mat", 212, "IR021", "inner_race", 3, 12000, "X212_DE_time", 121991,
     "bfe13761f545a26b217db897a12d27e16fec74306aa86ade8dbdc8ebe587c253"),
    ("12k_DE_OR007at6_3hp_133.mat", 133, "OR007@6", "outer_race_6oclock", 3, 12000, "X133_DE_time", 122571,
     "53f076cb0d905cf46bffaee7736abce8224ffed777deed03c0c863d762a90c71"),
    ("12k_DE_OR014at6_3hp_200.mat", 200, "OR014@6", "outer_race_6oclock", 3, 12000, "X200_DE_time", 121991,
     "2526483d2701220a700df8e6c9db0c527641b0887225907f4096610dd7120f4b"),
    ("12k_DE_OR021at6_3hp_237.mat", 237, "OR021@6", "outer_race_6oclock", 3, 12000, "X237_DE_time", 121991,
     "233d1edb2daa963658369119e389e30f02aca551dd7bb028ab33e7ba63edfd20"),
)

DATASET = register(Dataset(
    name="cwru",
    files=tuple(DataFile(f[0], SOURCE.format(no=f[1]), sha256=f[8]) for f in FILES),
    description="CWRU bearing data, 12 kHz drive end, loads 0–3 hp",
    citation="Case Western Reserve University Bearing Data Center",
))

FOUR_CLASS = {"normal": 0, "inner_race": 1, "ball": 2, "outer_race_6oclock": 3}
TEN_CLASS = ["normal", "B007", "B014", "B021", "IR007", "IR014", "IR021", "OR007@6", "OR014@6", "OR021@6"]


@functools.lru_cache(maxsize=64)
def load_signal(path: str, key: str, fs: int, decimate: bool = True) -> Any:
    """One record as a z-scored float32 signal at 12 kHz (the 48 kHz normal record decimated by
    4), or with ``decimate=False`` the 48 kHz record as it is (MoGRU's reading)."""
    import numpy as np
    import scipy.io
    import scipy.signal

    x = scipy.io.loadmat(path)[key].ravel().astype(np.float64)
    if fs == 48000:
        if decimate:
            x = scipy.signal.decimate(x, 4, zero_phase=True)
    elif fs != 12000:
        raise ValueError(f"unexpected sampling rate {fs}")
    return ((x - x.mean()) / x.std()).astype(np.float32)


def n_windows(length: int, window: int, stride: int) -> int:
    return 0 if length < window else (length - window) // stride + 1
