// openbatch's example scene: three spheres orbit a glass ball over a checkered floor.
// One frame per array child: the job passes +K<clock>, clock = index / frames (0 ≤ clock < 1),
// so frame i of N shows the orbit at angle 360·i/N and the last frame leads back to the first.
#version 3.7;
global_settings { assumed_gamma 1.0 }

camera {
  location <0, 3.2, -7>
  look_at <0, 0.6, 0>
  angle 50
}
light_source { <-6, 9, -6> color rgb 1.1 }
light_source { <5, 4, -8> color rgb 0.35 shadowless }
sky_sphere { pigment { gradient y color_map { [0 color rgb <0.95, 0.85, 0.75>] [1 color rgb <0.25, 0.45, 0.85>] } } }

plane {
  y, 0
  pigment { checker color rgb 0.9 color rgb 0.15 scale 1 }
  finish { diffuse 0.8 reflection 0.15 }
}

// the glass ball in the middle
sphere {
  <0, 1, 0>, 1
  pigment { color rgbf <0.9, 1, 0.95, 0.85> }
  finish { specular 0.8 roughness 0.01 reflection 0.1 }
  interior { ior 1.45 }
}

#declare Orbit = 2.4;
#declare Colors = array[3] { <0.9, 0.2, 0.15>, <0.15, 0.7, 0.25>, <0.2, 0.35, 0.95> };
#for (K, 0, 2)
  #declare A = 2 * pi * (clock + K / 3);
  sphere {
    <Orbit * cos(A), 0.45 + 0.35 * abs(sin(3 * A)), Orbit * sin(A)>, 0.45
    pigment { color rgb Colors[K] }
    finish { specular 0.6 roughness 0.02 reflection 0.2 }
  }
#end
