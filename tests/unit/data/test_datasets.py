"""Dataset readers on tiny trees written in each dataset's on-disk layout."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from edgetrack.data.datasets import DATASETS, Dataset, load_dataset, read_boxes, read_flags
from edgetrack.data.datasets.base import packaged_names, read_table
from edgetrack.errors import ConfigError, DataError, RegistryError

RED_BGR = (0, 0, 255)


def _image(path: Path, bgr: tuple[int, int, int] = RED_BGR) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.empty((6, 8, 3), np.uint8)
    image[:] = bgr
    assert cv2.imwrite(str(path), image)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _boxes_text(boxes: list[list[float]], sep: str = ",") -> str:
    return "".join(sep.join(f"{v:g}" for v in b) + "\n" for b in boxes)


def _assert_red(frame: np.ndarray) -> None:
    # frames come back RGB: the red BGR image must read as red in channel 0
    assert frame.dtype == np.uint8 and frame.shape == (6, 8, 3)
    assert frame[..., 0].min() > 230 and frame[..., 2].max() < 25


BOXES = [[10, 20, 30, 40], [11, 21, 31, 41], [12, 22, 32, 42]]


# --- registry and entry point
def test_all_readers_are_registered_and_unknown_names_get_a_suggestion():
    assert DATASETS.names() == ["coco", "folder", "got10k", "lasot", "lasot_ext", "otb100", "tnl2k", "trackingnet",
                                "uav123"]
    with pytest.raises(RegistryError, match="Did you mean 'lasot'"):
        load_dataset("lasott", "/nowhere")


def test_unknown_option_and_split_are_named(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'split_file'"):
        load_dataset("lasot", tmp_path, "test", split_fil="x")
    with pytest.raises(DataError, match="no split 'tset'. Did you mean 'test'"):
        load_dataset("lasot", tmp_path, "tset")


# --- parsers
def test_boxes_accept_comma_tab_and_space_separators_and_nan(tmp_path):
    path = _write(tmp_path / "gt.txt", "1,2,3,4\n5\t6\t7\t8\n9 10  11 12\nNaN,NaN,NaN,NaN\n\n")
    boxes = read_boxes(path)
    np.testing.assert_array_equal(boxes[:3], [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    assert boxes.shape == (4, 4) and np.isnan(boxes[3]).all()


def test_malformed_annotation_line_names_file_and_line(tmp_path):
    path = _write(tmp_path / "groundtruth.txt", "1,2,3,4\n1,2,three,4\n")
    with pytest.raises(DataError, match=r"groundtruth.txt, line 2: expected 4 numbers"):
        read_boxes(path)
    with pytest.raises(DataError, match=r"flags.txt, line 1: expected integer labels, got 'x'"):
        read_flags(_write(tmp_path / "flags.txt", "0,1,x\n"))
    with pytest.raises(DataError, match="2 labels for 3 annotated frames"):
        read_flags(_write(tmp_path / "short.txt", "0\n1\n"), 3)


# --- GOT-10k
def _got10k(root: Path) -> Path:
    for split, names in (("train", ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]), ("val", ["GOT-10k_Val_000001"])):
        _write(root / split / "list.txt", "\n".join(names) + "\n")
        for name in names:
            seq = root / split / name
            for i in range(1, 4):
                _image(seq / f"{i:08d}.jpg")
            _write(seq / "groundtruth.txt", _boxes_text(BOXES))
            _write(seq / "absence.label", "0\n1\n0\n")
            _write(seq / "cover.label", "8\n0\n0\n")
            _write(seq / "cut_by_image.label", "0\n0\n1\n")
            _write(seq / "meta_info.ini", "[METAINFO]\nobject_class: zebra\nmotion_adverb: slowly\n")
    test_seq = root / "test" / "GOT-10k_Test_000001"
    _write(root / "test" / "list.txt", "GOT-10k_Test_000001\n")
    for i in range(1, 5):
        _image(test_seq / f"{i:08d}.jpg")
    _write(test_seq / "groundtruth.txt", "5,6,7,8\n")
    return root


def test_got10k_reads_boxes_labels_meta_and_frames(tmp_path):
    ds = load_dataset("got10k", _got10k(tmp_path), "train")
    assert isinstance(ds, Dataset) and ds.names() == ["GOT-10k_Train_000001", "GOT-10k_Train_000002"]
    seq = ds["GOT-10k_Train_000002"]
    np.testing.assert_array_equal(seq.boxes, BOXES)
    # absent in frame 2, present but fully covered (cover 0) in frame 3
    assert seq.visible.tolist() == [True, False, False]
    assert seq.attributes["object_class"] == "zebra" and seq.attributes["cut_by_image"].tolist() == [0, 0, 1]
    assert seq.dataset == "got10k" and all(Path(p).is_file() for p in seq.frames)
    _assert_red(seq.frame(2))
    assert load_dataset("got10k", tmp_path, "val").names() == ["GOT-10k_Val_000001"]


def test_got10k_test_split_has_first_box_only_and_counts_frames(tmp_path):
    seq = load_dataset("got10k", _got10k(tmp_path), "test")[0]
    assert len(seq) == 4 and seq.boxes.shape == (1, 4)
    np.testing.assert_array_equal(seq.init_box, [5, 6, 7, 8])
    _assert_red(seq.frame(3))


def test_got10k_vot_train_takes_a_list_file_of_names_or_indices(tmp_path):
    root = _got10k(tmp_path / "got")
    with pytest.warns(UserWarning, match="whole train split"):
        assert len(load_dataset("got10k", root, "vot-train")) == 2
    by_index = load_dataset("got10k", root, "vottrain", split_file=_write(tmp_path / "ids.txt", "1\n"))
    by_name = load_dataset("got10k", root, "vot-train", split_file=_write(tmp_path / "n.txt", "GOT-10k_Train_000001\n"))
    assert by_index.names() == ["GOT-10k_Train_000002"] and by_name.names() == ["GOT-10k_Train_000001"]
    with pytest.raises(DataError, match="does not have"):
        load_dataset("got10k", root, "vot-train", split_file=_write(tmp_path / "bad.txt", "GOT-10k_Train_9\n"))


def test_got10k_missing_root_and_split_give_one_clear_error(tmp_path):
    with pytest.raises(DataError, match=r"GOT-10k root .*nowhere does not exist; expected <root>/\{train,val,test\}"):
        load_dataset("got10k", tmp_path / "nowhere", "val")
    with pytest.raises(DataError, match=r"GOT-10k root .* has no 'val/list.txt'; expected"):
        load_dataset("got10k", tmp_path, "val")
    with pytest.raises(DataError, match="GOT-10k needs a split"):
        load_dataset("got10k", tmp_path)


# --- LaSOT and LaSOT_ext
def _lasot_sequence(seq: Path, occlusion: str = "0,1,0", out_of_view: str = "0,0,1") -> None:
    for i in range(1, 4):
        _image(seq / "img" / f"{i:08d}.jpg")
    _write(seq / "groundtruth.txt", _boxes_text(BOXES))
    _write(seq / "full_occlusion.txt", occlusion + "\n")
    _write(seq / "out_of_view.txt", out_of_view + "\n")
    _write(seq / "nlp.txt", "white plane flying\n")


def test_lasot_reads_sequences_with_visibility_and_language(tmp_path):
    for name in ("airplane-1", "airplane-2", "bird-3"):
        _lasot_sequence(tmp_path / name.split("-")[0] / name)
    ds = load_dataset("lasot", tmp_path, "all")
    assert ds.names() == ["airplane-1", "airplane-2", "bird-3"]
    seq = ds["airplane-2"]
    np.testing.assert_array_equal(seq.boxes, BOXES)
    assert seq.visible.tolist() == [True, False, False]  # occluded in frame 2, out of view in frame 3
    assert seq.attributes["class"] == "airplane" and seq.attributes["language"] == "white plane flying"
    _assert_red(seq.frame(0))


def test_lasot_splits_follow_the_shipped_test_list(tmp_path):
    for name in ("airplane-1", "airplane-2", "bird-3"):  # airplane-1 and bird-3 are test sequences
        _lasot_sequence(tmp_path / name.split("-")[0] / name)
    assert load_dataset("lasot", tmp_path, "train").names() == ["airplane-2"]
    with pytest.raises(DataError, match="lacks 278 of the 280 sequences of split 'test'"):
        load_dataset("lasot", tmp_path, "test")  # fails on opening, not mid-evaluation
    subset = load_dataset("lasot", tmp_path, "test", split_file=_write(tmp_path / "t.txt", "bird-3\nairplane-1\n"))
    assert subset.names() == ["bird-3", "airplane-1"]


def test_shipped_lasot_test_list_has_four_sequences_of_each_of_70_classes():
    names = packaged_names("lasot_test.txt")
    per_class = Counter(n.rsplit("-", 1)[0] for n in names)
    assert len(names) == len(set(names)) == 280 and len(per_class) == 70 and set(per_class.values()) == {4}


def test_listing_is_lazy_and_a_bad_sequence_fails_only_when_read(tmp_path):
    _lasot_sequence(tmp_path / "atv" / "atv-1")
    _lasot_sequence(tmp_path / "atv-2")  # flat layout, as the separately packed sets unpack
    _write(tmp_path / "atv-2" / "groundtruth.txt", "1,2,3,4\n1,2,3\n1,2,3,4\n")
    ds = load_dataset("lasot_ext", tmp_path)
    assert len(ds) == 2 and "atv-2" in ds and ds[-2].name == "atv-1"
    with pytest.raises(DataError, match=r"groundtruth.txt, line 2"):
        ds["atv-2"]
    with pytest.raises(DataError, match="Did you mean 'atv-1'"):
        ds.sequence("atv-11")
    with pytest.raises(IndexError):
        ds[2]


# --- TrackingNet
def test_trackingnet_chunks_zero_based_frames_and_test_split(tmp_path):
    for chunk, name in (("TRAIN_0", "a1b2"), ("TRAIN_1", "c3d4")):
        _write(tmp_path / chunk / "anno" / f"{name}.txt", _boxes_text(BOXES))
        for i in range(3):
            _image(tmp_path / chunk / "frames" / name / f"{i}.jpg")
    _write(tmp_path / "TEST" / "anno" / "e5f6.txt", "1,2,3,4\n")
    for i in range(2):
        _image(tmp_path / "TEST" / "frames" / "e5f6" / f"{i}.jpg")
    train = load_dataset("trackingnet", tmp_path, "train")
    assert train.names() == ["a1b2", "c3d4"] and train["c3d4"].attributes["chunk"] == "TRAIN_1"
    seq = train[0]
    assert [Path(p).name for p in seq.frames] == ["0.jpg", "1.jpg", "2.jpg"]
    _assert_red(seq.frame(2))
    assert load_dataset("trackingnet", tmp_path, "train", chunks=[1]).names() == ["c3d4"]
    test = load_dataset("trackingnet", tmp_path, "test")[0]
    assert len(test) == 2 and test.boxes.shape == (1, 4)
    with pytest.raises(DataError, match="has no 'TRAIN_5/anno'"):
        load_dataset("trackingnet", tmp_path, "train", chunks=[5])


# --- TNL2K
def test_tnl2k_picks_the_subset_and_reads_language(tmp_path):
    base = tmp_path / "TNL2K_test_subset"
    for name in ("Car_video_2", "Car_video_10"):
        for i in range(1, 4):
            _image(base / name / "imgs" / f"{i:05d}.png")
        _write(base / name / "groundtruth.txt", _boxes_text(BOXES, " "))
        _write(base / name / "language.txt", "the red car\n")
    ds = load_dataset("tnl2k", tmp_path, "test")
    assert ds.names() == ["Car_video_2", "Car_video_10"]
    seq = ds[1]
    assert seq.attributes["language"] == "the red car" and Path(seq.frames[2]).name == "00003.png"
    np.testing.assert_array_equal(seq.boxes, BOXES)
    _assert_red(seq.frame(1))
    with pytest.raises(DataError, match="no train subset folder"):
        load_dataset("tnl2k", tmp_path, "train")
    (base / "Car_video_2" / "imgs" / "00003.png").unlink()
    with pytest.raises(DataError, match="2 images .* but 3 boxes"):
        ds["Car_video_2"]


# --- UAV123
def test_uav123_cuts_sequences_from_a_folder_by_frame_range(tmp_path):
    for k in range(1, 6):
        _image(tmp_path / "data_seq" / "UAV123" / "bird9" / f"{k:06d}.jpg")
    _write(tmp_path / "anno" / "UAV123" / "bird9_1.txt", _boxes_text(BOXES))
    _write(tmp_path / "anno" / "UAV123" / "bird9_2.txt", "1,2,3,4\nNaN,NaN,NaN,NaN\n5,6,7,8\n")
    table = _write(tmp_path / "table.txt", "# name folder start end\nbird9_1 bird9 1 3\nbird9_2\tbird9\t3\t5\n")
    ds = load_dataset("uav123", tmp_path, table_file=table)
    assert ds.names() == ["bird9_1", "bird9_2"]
    seq = ds["bird9_2"]
    assert [Path(p).name for p in seq.frames] == ["000003.jpg", "000004.jpg", "000005.jpg"]
    assert seq.visible.tolist() == [True, False, True]  # NaN rows: target absent
    _assert_red(seq.frame(2))
    with pytest.raises(DataError, match="lacks 123 of the 123 sequences"):
        load_dataset("uav123", tmp_path)


def test_shipped_uav123_table_defines_123_sequences():
    rows = read_table(None, "uav123.txt", ("name", "folder", "start", "end"))
    by_name = {r["name"]: r for r in rows}
    assert len(rows) == len(by_name) == 123
    assert (by_name["bird1_2"]["folder"], by_name["bird1_2"]["start"], by_name["bird1_2"]["end"]) == ("bird1", "775",
                                                                                                       "1477")


# --- OTB100
def test_otb_handles_offsets_two_targets_and_init_omit(tmp_path):
    for folder, count in (("David", 5), ("Jogging", 3), ("Tiger1", 4)):
        for k in range(1, count + 1):
            _image(tmp_path / folder / "img" / f"{k:04d}.jpg")
    _write(tmp_path / "David" / "groundtruth_rect.txt", _boxes_text(BOXES, "\t"))
    _write(tmp_path / "Jogging" / "groundtruth_rect.1.txt", _boxes_text(BOXES))
    _write(tmp_path / "Jogging" / "groundtruth_rect.2.txt", _boxes_text(BOXES[::-1], " "))
    _write(tmp_path / "Tiger1" / "groundtruth_rect.txt", _boxes_text([*BOXES, [1, 1, 1, 1]]))
    table = _write(tmp_path / "t.txt", "David David groundtruth_rect.txt 3 5 0\n"
                   "Jogging-1 Jogging groundtruth_rect.1.txt 1 3 0\nJogging-2 Jogging groundtruth_rect.2.txt 1 3 0\n"
                   "Tiger1 Tiger1 groundtruth_rect.txt 1 4 2\n")
    ds = load_dataset("otb100", tmp_path, table_file=table)
    david = ds["David"]
    assert [Path(p).name for p in david.frames] == ["0003.jpg", "0004.jpg", "0005.jpg"]
    np.testing.assert_array_equal(ds["Jogging-2"].boxes, BOXES[::-1])
    tiger = ds["Tiger1"]
    assert len(tiger) == 2 and Path(tiger.frames[0]).name == "0003.jpg"
    np.testing.assert_array_equal(tiger.boxes, [BOXES[2], [1, 1, 1, 1]])
    _assert_red(david.frame(0))


def test_shipped_otb_table_records_the_known_quirks():
    rows = {r["name"]: r for r in read_table(None, "otb100.txt", ("name", "folder", "anno", "start", "end", "omit"))}
    assert len(rows) == 100
    assert (rows["David"]["start"], rows["David"]["end"]) == ("300", "770") and rows["Tiger1"]["omit"] == "5"
    assert rows["Skating2-2"]["anno"] == "groundtruth_rect.2.txt" and rows["Human4-2"]["folder"] == "Human4"


# --- COCO
def test_coco_objects_become_one_frame_sequences(tmp_path):
    images = [{"id": 7, "file_name": "000000000007.jpg"}, {"id": 9, "file_name": "000000000009.jpg"}]
    annotations = [
        {"id": 1, "image_id": 7, "bbox": [1, 1, 5, 4], "iscrowd": 0, "category_id": 3},
        {"id": 2, "image_id": 7, "bbox": [0, 0, 8, 6], "iscrowd": 1, "category_id": 3},  # crowd: left out
        {"id": 3, "image_id": 9, "bbox": [2, 2, 2, 2], "iscrowd": 0, "category_id": 3},  # 4 px^2: left out
        {"id": 4, "image_id": 9, "bbox": [0.5, 1.5, 6, 3], "iscrowd": 0, "category_id": 1},
    ]
    categories = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}]
    _write(tmp_path / "annotations" / "instances_train2017.json",
           json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    for im in images:
        _image(tmp_path / "train2017" / im["file_name"])
    ds = load_dataset("coco", tmp_path, "train")
    assert len(ds) == 2 and ds.names() == ["7_1", "9_4"]
    seq = ds[1]
    assert len(seq) == 1 and seq.attributes["category"] == "person"
    np.testing.assert_allclose(seq.boxes, [[0.5, 1.5, 6, 3]])
    _assert_red(seq.frame(0))
    with pytest.raises(DataError, match=r"COCO root .* has no 'annotations/instances_val2017.json'"):
        load_dataset("coco", tmp_path, "val")


def test_lasot_ground_truth_shorter_than_the_video_is_refused_with_the_counts(tmp_path):
    seq = tmp_path / "airplane" / "airplane-1"
    _lasot_sequence(seq)
    _image(seq / "img" / "00000004.jpg")  # four frames, three boxes
    with pytest.raises(DataError, match=r"groundtruth.txt has 3 boxes but .*img holds 4 .jpg frames"):
        load_dataset("lasot", tmp_path, "all")["airplane-1"]
