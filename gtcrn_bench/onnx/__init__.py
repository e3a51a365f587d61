"""GTCRN as a frame-by-frame ONNX model: export, the published interface, onnxruntime sessions, verification."""
