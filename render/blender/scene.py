"""Build the Blender scene of one sample (runs inside the worker process; imports bpy).

One scene per sample: the object mesh (world-space vertices, UV texture or vertex colours),
an optional ground plane, a sun plus a world colour, and one camera object per view. Per frame only
the vertex positions change (:func:`set_vertices`).

Cycles writes three shader AOVs from the object's material only (the ground writes none), so they
measure the object alone whatever else is in the picture: ``mask`` (1 on the object: its average
over a pixel's samples is the coverage), ``zobj`` (camera z-depth, Camera Data "View Z Depth") and
``nobj`` (world-space shading normal). Workbench has no AOVs; the worker renders a second,
object-only pass for alpha and depth instead.
"""
from __future__ import annotations

import math
from typing import Any

import bpy
import numpy as np
from mathutils import Matrix

CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])
SENSOR_WIDTH_MM = 36.0
AOVS = (("mask", "VALUE"), ("zobj", "VALUE"), ("nobj", "COLOR"), ("manip", "VALUE"))


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.asarray(c, np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def reset_scene() -> Any:
    """An empty scene (factory settings) in scene-linear colour with the Standard view transform."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    return scene


def configure_render(scene: Any, engine: str, samples: int, denoise: bool, device: str, seed: int = 0,
                     prefilter: str = "accurate") -> str:
    """Engine, sampling, film and passes; returns the Cycles device actually used ('CPU', 'CUDA', ...)."""
    r = scene.render
    r.film_transparent = True
    r.resolution_percentage = 100
    r.use_persistent_data = True
    im = r.image_settings
    im.media_type = "MULTI_LAYER_IMAGE"
    im.color_depth = "32"
    im.exr_codec = "ZIP"
    vl = scene.view_layers[0]
    used = "CPU"
    if engine == "cycles":
        r.engine = "CYCLES"
        c = scene.cycles
        c.samples = int(samples)
        c.use_adaptive_sampling = False
        c.seed = int(seed)
        c.pixel_filter_type = "BOX"  # a pixel's samples cover exactly [u, u+1) x [v, v+1)
        c.filter_width = 1.0
        c.use_denoising = bool(denoise)
        if denoise:
            c.denoiser = "OPENIMAGEDENOISE"
            c.denoising_input_passes = "RGB_ALBEDO_NORMAL"
            c.denoising_prefilter = prefilter.upper()  # ACCURATE: the albedo / normal guides are denoised too
        c.max_bounces, c.diffuse_bounces, c.glossy_bounces = 3, 2, 1
        c.transmission_bounces, c.volume_bounces, c.transparent_max_bounces = 0, 0, 2
        c.caustics_reflective = c.caustics_refractive = False
        used = _select_device(scene, device)
        vl.use_pass_z = False
        for name, kind in AOVS:
            aov = vl.aovs.add()
            aov.name, aov.type = name, kind
    elif engine == "workbench":
        r.engine = "BLENDER_WORKBENCH"
        r.filter_size = 1.0
        scene.display.render_aa = "16" if samples >= 16 else ("8" if samples >= 8 else "5")
        sh = scene.display.shading
        sh.light = "STUDIO"
        sh.show_shadows = False
        sh.show_cavity = False
        sh.show_specular_highlight = False
        vl.use_pass_z = True
    else:
        raise ValueError(f"unknown blender engine {engine!r}")
    return used


def _select_device(scene: Any, device: str) -> str:
    """'auto': OptiX, else CUDA, else CPU; 'cpu': CPU only."""
    scene.cycles.device = "CPU"
    if device == "cpu":
        return "CPU"
    prefs = bpy.context.preferences.addons["cycles"].preferences
    for kind in ("OPTIX", "CUDA"):
        try:
            prefs.compute_device_type = kind
            prefs.get_devices()
        except (TypeError, ValueError, AttributeError):
            continue
        gpus = [d for d in prefs.devices if d.type == kind]
        if gpus:
            for d in prefs.devices:
                d.use = d.type == kind
            scene.cycles.device = "GPU"
            return kind
    return "CPU"


def _diffuse_material(name: str) -> tuple[Any, Any, Any]:
    mat = bpy.data.materials.new(name)
    nt = mat.node_tree
    nt.nodes.clear()
    out = nt.nodes.new("ShaderNodeOutputMaterial")
    bsdf = nt.nodes.new("ShaderNodeBsdfDiffuse")
    bsdf.inputs["Roughness"].default_value = 0.5
    nt.links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])
    return mat, nt, bsdf


def _object_material(mesh_data: Any, texture: np.ndarray | None, has_vertex_colors: bool, base_color: np.ndarray) -> Any:
    """Diffuse material coloured by the texture, the colour attribute or a base colour, with the AOVs."""
    mat, nt, bsdf = _diffuse_material("object")
    col_in = bsdf.inputs["Color"]
    if texture is not None:
        h, w = texture.shape[:2]
        img = bpy.data.images.new("texture", w, h, alpha=False)
        rgba = np.ones((h, w, 4), np.float32)
        rgba[..., :3] = np.flipud(texture[..., :3]).astype(np.float32) / 255.0  # Blender rows go bottom-up
        img.pixels.foreach_set(rgba.ravel())
        img.update()
        img.pack()
        tex = nt.nodes.new("ShaderNodeTexImage")
        tex.image = img
        tex.interpolation = "Linear"
        tex.extension = "EXTEND"
        nt.links.new(tex.outputs["Color"], col_in)
    elif has_vertex_colors:
        attr = nt.nodes.new("ShaderNodeVertexColor")
        attr.layer_name = "Col"
        nt.links.new(attr.outputs["Color"], col_in)
    else:
        col_in.default_value = (*srgb_to_linear(base_color), 1.0)
    mat.diffuse_color = (*srgb_to_linear(base_color), 1.0)
    cam = nt.nodes.new("ShaderNodeCameraData")
    geo = nt.nodes.new("ShaderNodeNewGeometry")
    for name, _kind in AOVS[:3]:
        node = nt.nodes.new("ShaderNodeOutputAOV")
        node.aov_name = name
        if name == "mask":
            node.inputs["Value"].default_value = 1.0
        elif name == "zobj":
            nt.links.new(cam.outputs["View Z Depth"], node.inputs["Value"])
        else:
            nt.links.new(geo.outputs["Normal"], node.inputs["Color"])
    mesh_data.materials.append(mat)
    return mat


def build_object(scene: Any, faces: np.ndarray, vertices: np.ndarray, uv: np.ndarray | None,
                 texture: np.ndarray | None, vertex_colors: np.ndarray | None,
                 base_color: np.ndarray) -> Any:
    """The object mesh at identity transform (its vertices are world positions); returns the mesh data."""
    faces = np.asarray(faces, np.int32)
    v = np.asarray(vertices, np.float32)
    me = bpy.data.meshes.new("object")
    me.vertices.add(len(v))
    me.vertices.foreach_set("co", v.ravel())
    me.loops.add(faces.size)
    me.loops.foreach_set("vertex_index", faces.ravel())
    me.polygons.add(len(faces))
    me.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    me.update(calc_edges=True)
    me.polygons.foreach_set("use_smooth", np.ones(len(faces), bool))
    use_tex = texture is not None and uv is not None
    if use_tex:
        layer = me.uv_layers.new(name="UVMap")
        layer.data.foreach_set("uv", np.asarray(uv, np.float32)[faces].ravel())
    elif vertex_colors is not None:
        ca = me.color_attributes.new("Col", "FLOAT_COLOR", "POINT")
        rgba = np.ones((len(v), 4), np.float32)
        rgba[:, :3] = srgb_to_linear(np.clip(vertex_colors, 0.0, 1.0))
        ca.data.foreach_set("color", rgba.ravel())
        me.color_attributes.active_color = ca
    _object_material(me, texture if use_tex else None, (not use_tex) and vertex_colors is not None, base_color)
    ob = bpy.data.objects.new("object", me)
    ob.pass_index = 1
    scene.collection.objects.link(ob)
    scene.display.shading.color_type = "TEXTURE" if use_tex else ("VERTEX" if vertex_colors is not None else "MATERIAL")
    return me


def build_manipulator(scene: Any, n: int, radius: float, color_srgb: tuple[float, float, float]) -> list[Any]:
    """``n`` sphere objects (one per control point) writing only the ``manip`` AOV: they show in RGB, occlude the
    object in its mask, and have a coverage mask of their own. Place them with ``obj.location``."""
    mat, nt, bsdf = _diffuse_material("manipulator")
    lin = (*srgb_to_linear(np.asarray(color_srgb)), 1.0)
    bsdf.inputs["Color"].default_value = lin
    mat.diffuse_color = lin
    node = nt.nodes.new("ShaderNodeOutputAOV")
    node.aov_name = "manip"
    node.inputs["Value"].default_value = 1.0
    import bmesh

    me = bpy.data.meshes.new("manipulator")
    bm = bmesh.new()
    bmesh.ops.create_icosphere(bm, subdivisions=3, radius=radius)
    bm.to_mesh(me)
    bm.free()
    me.polygons.foreach_set("use_smooth", np.ones(len(me.polygons), bool))
    me.materials.append(mat)
    obs = []
    for i in range(n):
        ob = bpy.data.objects.new(f"manipulator{i}", me)
        scene.collection.objects.link(ob)
        obs.append(ob)
    return obs


def set_vertices(me: Any, vertices: np.ndarray) -> None:
    """Move the object's vertices (world positions) for the next frame."""
    me.attributes["position"].data.foreach_set("vector", np.asarray(vertices, np.float32).ravel())
    me.update()


def build_ground(scene: Any, ground: dict[str, Any]) -> Any:
    """A large plane at z = ``ground["height"]`` in the look's colours: flat, a checker or a noise pattern of
    ``scale_m`` in world units (no AOVs: it never counts as object)."""
    s, h = 0.5 * float(ground["size_m"]), float(ground["height"])
    me = bpy.data.meshes.new("ground")
    me.from_pydata([(-s, -s, h), (s, -s, h), (s, s, h), (-s, s, h)], [], [(0, 1, 2, 3)])
    mat, nt, bsdf = _diffuse_material("ground")
    bsdf.inputs["Roughness"].default_value = float(ground.get("roughness", 0.5))
    c1 = (*srgb_to_linear(np.asarray(ground["color_srgb"])), 1.0)
    c2 = (*srgb_to_linear(np.asarray(ground["color2_srgb"])), 1.0)
    pattern = ground.get("pattern", "none")
    if pattern in ("checker", "noise"):
        coord = nt.nodes.new("ShaderNodeTexCoord")  # Object coordinates of a plane at the origin = world metres
        if pattern == "checker":
            tex = nt.nodes.new("ShaderNodeTexChecker")
            tex.inputs["Color1"].default_value, tex.inputs["Color2"].default_value = c1, c2
            tex.inputs["Scale"].default_value = 1.0 / float(ground["scale_m"])
            nt.links.new(coord.outputs["Object"], tex.inputs["Vector"])
            nt.links.new(tex.outputs["Color"], bsdf.inputs["Color"])
        else:
            tex = nt.nodes.new("ShaderNodeTexNoise")
            tex.inputs["Scale"].default_value = 1.0 / float(ground["scale_m"])
            ramp = nt.nodes.new("ShaderNodeValToRGB")
            ramp.color_ramp.elements[0].color, ramp.color_ramp.elements[1].color = c1, c2
            nt.links.new(coord.outputs["Object"], tex.inputs["Vector"])
            nt.links.new(tex.outputs["Fac"], ramp.inputs["Fac"])
            nt.links.new(ramp.outputs["Color"], bsdf.inputs["Color"])
    else:
        bsdf.inputs["Color"].default_value = c1
    mat.diffuse_color = c1
    me.materials.append(mat)
    ob = bpy.data.objects.new("ground", me)
    scene.collection.objects.link(ob)
    return ob


def build_lighting(scene: Any, look: dict[str, Any]) -> None:
    """The look's world (flat: its colour as ambient; sky: a horizon-to-zenith gradient) and sun (direction,
    strength, angular diameter: the softness of its shadows)."""
    w = look["world"]
    world = bpy.data.worlds.new("world")
    scene.world = world
    nt = world.node_tree
    bg = nt.nodes.get("Background") or nt.nodes.new("ShaderNodeBackground")
    horizon = (*srgb_to_linear(np.asarray(w["color_srgb"])), 1.0)
    if w.get("kind") == "sky":
        coord = nt.nodes.new("ShaderNodeTexCoord")  # world: Generated = the view direction
        sep = nt.nodes.new("ShaderNodeSeparateXYZ")
        mix = nt.nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        mix.clamp_factor = True
        ins = {i.identifier: i for i in mix.inputs}  # the colour sockets share their names with the float ones
        ins["A_Color"].default_value = horizon
        ins["B_Color"].default_value = (*srgb_to_linear(np.asarray(w["zenith_srgb"])), 1.0)
        nt.links.new(coord.outputs["Generated"], sep.inputs["Vector"])
        nt.links.new(sep.outputs["Z"], ins["Factor_Float"])
        nt.links.new({o.identifier: o for o in mix.outputs}["Result_Color"], bg.inputs["Color"])
    else:
        bg.inputs["Color"].default_value = horizon
    bg.inputs["Strength"].default_value = float(w["strength"])
    out = nt.nodes.get("World Output") or nt.nodes.new("ShaderNodeOutputWorld")
    nt.links.new(bg.outputs["Background"], out.inputs["Surface"])
    world.color = horizon[:3]
    sv = look["sun"]
    sun = bpy.data.lights.new("sun", "SUN")
    sun.energy = float(sv["strength_w_m2"])
    sun.angle = math.radians(float(sv["angle_deg"]))
    ob = bpy.data.objects.new("sun", sun)
    el, az = math.radians(float(sv["elevation_deg"])), math.radians(float(sv["azimuth_deg"]))
    towards = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    # a sun shines along its local -z: point local +z at the light's source direction
    ob.matrix_world = Matrix(_frame_with_z(towards).tolist())
    scene.collection.objects.link(ob)


def _frame_with_z(z: np.ndarray) -> np.ndarray:
    z = z / np.linalg.norm(z)
    x = np.cross([0.0, 0.0, 1.0], z) if abs(z[2]) < 0.99 else np.array([1.0, 0.0, 0.0])
    x /= np.linalg.norm(x)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2] = x, np.cross(z, x), z
    return m


def camera_params(K: np.ndarray, width: int, height: int) -> dict[str, float]:
    """Blender camera data from an OpenCV K (pixel centres at +0.5, like Blender's).

    Horizontal sensor fit: ``lens = fx * sensor_width / W``; the view-plane shift is in units of W:
    ``shift_x = (W/2 - cx) / W`` and ``shift_y = (cy - H/2) / W`` (Blender's image y points up).
    Square pixels only (``fx == fy``): Blender 5 cannot write multilayer EXR with a pixel aspect.
    """
    K = np.asarray(K, np.float64)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if abs(K[0, 1]) > 1e-9:
        raise ValueError("Blender cameras cannot represent skew (K[0,1] != 0)")
    if abs(fx - fy) > 1e-6 * fx:
        raise ValueError(f"the Blender renderer needs square pixels (fx == fy), got fx={fx:g}, fy={fy:g}")
    return {"lens": fx * SENSOR_WIDTH_MM / width, "shift_x": (0.5 * width - cx) / width,
            "shift_y": (cy - 0.5 * height) / width}


def build_camera(scene: Any, name: str, K: np.ndarray, c2w_cv: np.ndarray, width: int, height: int) -> tuple[Any, dict[str, float]]:
    """A camera object whose world matrix is the OpenGL/Blender c2w = c2w_cv @ diag(1,-1,-1,1)."""
    p = camera_params(K, width, height)
    cam = bpy.data.cameras.new(name)
    cam.type = "PERSP"
    cam.sensor_fit = "HORIZONTAL"
    cam.sensor_width = SENSOR_WIDTH_MM
    cam.lens = p["lens"]
    cam.shift_x, cam.shift_y = p["shift_x"], p["shift_y"]
    cam.clip_start, cam.clip_end = 0.05, 1e4  # near plane not too close: Workbench depth precision
    ob = bpy.data.objects.new(name, cam)
    ob.matrix_world = Matrix((np.asarray(c2w_cv, np.float64) @ CV_TO_GL).tolist())
    scene.collection.objects.link(ob)
    return ob, p


def activate_camera(scene: Any, ob: Any, width: int, height: int) -> None:
    """Render through ``ob`` at W x H (square pixels)."""
    r = scene.render
    scene.camera = ob
    r.resolution_x, r.resolution_y = int(width), int(height)
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
